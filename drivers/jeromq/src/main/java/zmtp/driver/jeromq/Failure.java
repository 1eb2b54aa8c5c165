package zmtp.driver.jeromq;

/** A request that ends in an {@code error} reply with an errno-style code (DRV-09). */
final class Failure extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final String code;

  Failure(String code, String message) {
    super(message);
    this.code = code;
  }

  String code() {
    return code;
  }
}
