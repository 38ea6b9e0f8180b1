//! SMB2/3 wire codec (MS-SMB2 section 2), both directions.
