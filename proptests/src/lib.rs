//! Offline model server and virtual-time pair for testing pike-core.
