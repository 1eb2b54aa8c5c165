//! `zmtp-driver-libzmq`: the libzmq driver as a stand-alone program.

fn main() -> std::process::ExitCode {
    zmtp_driver_libzmq::run()
}
