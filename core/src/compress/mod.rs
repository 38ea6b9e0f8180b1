//! MS-XCA compression algorithms used by SMB 3.1.1 compression (MS-SMB2 2.2.42).
