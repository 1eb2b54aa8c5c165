package zmtp.driver.jeromq;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.HashMap;
import java.util.Map;
import zmq.ZError;

/**
 * JeroMQ error numbers ({@link ZError}, also carried by {@code ZMQException}) to errno names
 * (DRV-09). The table is read from ZError's constants, so every code JeroMQ can report has its
 * name; JeroMQ's own EIOEXC and ESOCKET (a Java I/O exception) keep theirs.
 */
final class Errno {
  private static final Map<Integer, String> NAMES = new HashMap<>();

  static {
    for (Field field : ZError.class.getFields()) {
      int mods = field.getModifiers();
      boolean errno = field.getType() == int.class && field.getName().startsWith("E");
      if (Modifier.isStatic(mods) && errno) {
        try {
          // ZError spells EACCES with a double S
          String name = field.getName().equals("EACCESS") ? "EACCES" : field.getName();
          NAMES.putIfAbsent(field.getInt(null), name);
        } catch (IllegalAccessException e) {
          throw new IllegalStateException(e);
        }
      }
    }
  }

  private Errno() {}

  static String name(int code) {
    return NAMES.getOrDefault(code, "E" + code);
  }

  /** The {@code error} failure for a JeroMQ call that returned false and set errno. */
  static Failure failure(int code, String what) {
    return new Failure(name(code), what + ": " + name(code));
  }
}
