package zmtp.driver.jeromq;

/** A request the driver or JeroMQ cannot carry out; nothing was changed (DRV-08). */
final class Unsupported extends RuntimeException {
  private static final long serialVersionUID = 1L;

  Unsupported(String message) {
    super(message);
  }
}
