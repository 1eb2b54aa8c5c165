//! `zmtp-driver-rzmq`: the rzmq driver as a stand-alone program.

fn main() -> std::process::ExitCode {
    zmtp_driver_rzmq::run()
}
