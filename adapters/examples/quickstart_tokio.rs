//! The README's tokio quick start.

use futures_lite::AsyncReadExt; // or tokio_util::compat for tokio's io traits
use pike::{TreeConnect, runtime::tokio::Tokio};

#[tokio::main]
async fn main() -> Result<(), pike::Error> {
    // PIKE_SERVER, PIKE_PORT, PIKE_CREDS ("DOMAIN\user%password"), PIKE_SHARE, ...
    // or set everything in code: TreeConnect::new().server("nas").share("data").creds(..)
    let tree = TreeConnect::from_env()?.connect(Tokio).await?;

    let hello = tree.path("hello.txt");
    hello.write_text("hello from pike").await?; // one round trip (compound)
    assert_eq!(hello.read_text().await?, "hello from pike");

    for entry in tree.root().iterdir().await? {
        println!("{:>10} {}", entry.metadata.len(), entry.name);
    }

    let big = tree.path("big.bin");
    big.write_bytes(&vec![7u8; 10 << 20]).await?; // WRITEs pipelined across the credit window
    let mut file = big.open("r").await?; // AsyncRead + AsyncSeek
    let mut data = Vec::new();
    file.read_to_end(&mut data).await?; // read-ahead, same window
    assert_eq!(data.len(), 10 << 20);
    big.unlink(false).await?;
    hello.unlink(false).await?;
    Ok(())
}
