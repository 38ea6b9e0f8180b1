//! Test helpers that drive pike-core over blocking sockets against real servers.
