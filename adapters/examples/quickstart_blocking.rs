//! The README's blocking quick start.

use std::io::Write;

fn main() -> Result<(), pike::Error> {
    let tree = pike::TreeConnect::from_env()?.connect_blocking()?;
    tree.path("dir/sub").mkdir(true, true)?;
    let mut f = tree.path("dir/sub/log.txt").open("w")?;
    f.write_all(b"written through std::io::Write")?;
    f.close()?; // reports errors of buffered writes
    for e in tree.path("dir/sub").glob("*.txt")? {
        println!("{}", e.name);
        e.path.unlink(false)?;
    }
    tree.path("dir/sub").rmdir()?;
    tree.path("dir").rmdir()?;
    Ok(())
}
