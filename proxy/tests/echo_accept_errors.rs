//! The echo server outlives an accept that fails: with no file descriptor left, `accept` fails
//! (EMFILE) while a connection waits in the listen queue; the server must log it, wait, and accept
//! it once a descriptor is free, then serve new connections as before. Before, the first accept
//! error ended the server for good, and every later tunnel to it was refused (502 at the proxy).
//!
//! A test binary of its own: it lowers this process's open-files limit.

use std::{
    fs::File,
    time::{Duration, Instant},
};

use nix::sys::resource::{Resource, getrlimit, setrlimit};
use snm_proxy::traffic::{EchoServer, round_trip};
use tokio::net::TcpStream;

const EMFILE: i32 = 24;

fn open_files() -> u64 {
    std::fs::read_dir("/proc/self/fd").map(|dir| dir.count() as u64).unwrap_or(0)
}

#[tokio::test]
async fn the_echo_server_accepts_again_after_running_out_of_file_descriptors() {
    let server = EchoServer::start().await.unwrap();
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();

    // Room for a few more files, then fill the table until opening one fails.
    setrlimit(Resource::RLIMIT_NOFILE, open_files() + 8, hard).unwrap();
    let mut filler = Vec::new();
    loop {
        match File::open("/dev/null") {
            Ok(file) => filler.push(file),
            Err(error) if error.raw_os_error() == Some(EMFILE) => break,
            Err(error) => panic!("opening /dev/null: {error}"),
        }
    }
    // One descriptor for the client's socket: the server's accept then has none.
    filler.pop();
    let waiting = TcpStream::connect(server.addr()).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.accept_errors() == 0 {
        assert!(Instant::now() < deadline, "the echo server never tried to accept");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    drop(filler);
    setrlimit(Resource::RLIMIT_NOFILE, soft, hard).unwrap();
    let echoed = tokio::time::timeout(Duration::from_secs(20), round_trip(waiting, 256 * 1024)).await;
    assert!(matches!(echoed, Ok(Ok(()))), "the connection that waited through the errors: {echoed:?}");
    let fresh = TcpStream::connect(server.addr()).await.unwrap();
    let echoed = tokio::time::timeout(Duration::from_secs(20), round_trip(fresh, 256 * 1024)).await;
    assert!(matches!(echoed, Ok(Ok(()))), "a new connection: {echoed:?}");
    assert!(server.accept_errors() > 0);
}
