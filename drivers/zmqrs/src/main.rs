//! `zmtp-driver-zmqrs`: the zmq.rs driver as a stand-alone program.

fn main() -> std::process::ExitCode {
    zmtp_driver_zmqrs::run()
}
