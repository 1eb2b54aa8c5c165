package zmtp.driver.jeromq;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedOutputStream;
import java.io.BufferedReader;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.channels.Pipe;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import sun.misc.Signal;

/**
 * The ZMTP conformance harness driver for JeroMQ (spec/driver-protocol.md).
 *
 * <p>Three threads: a reader thread turns stdin lines into a queue and writes a byte to a wake
 * pipe; the main thread (the {@link Driver}) owns every JeroMQ socket and polls the wake pipe
 * together with its sockets; SIGTERM and SIGINT handlers (sun.misc.Signal, on the JVM's signal
 * dispatcher thread) only set a flag and write to the wake pipe. A shutdown hook would be too
 * late: it runs only once the JVM is already exiting.
 */
public final class Main {
  private static final ObjectMapper MAPPER = new ObjectMapper();
  /** The real standard output; System.out is pointed at stderr so nothing else lands here. */
  private static final OutputStream STDOUT =
      new BufferedOutputStream(new FileOutputStream(FileDescriptor.out), 1 << 16);

  private Main() {}

  public static void main(String[] args) throws IOException {
    System.setOut(new PrintStream(new FileOutputStream(FileDescriptor.err), true, "UTF-8"));
    long pid = ProcessHandle.current().pid();
    log("JeroMQ " + jeromqVersion() + ", driver " + Driver.VERSION + ", pid " + pid);

    Pipe pipe = Pipe.open();
    Pipe.SinkChannel sink = pipe.sink();
    AtomicBoolean stop = new AtomicBoolean();
    Runnable wake = () -> wake(sink);
    for (String name : new String[] {"TERM", "INT"}) {
      Signal.handle(
          new Signal(name),
          sig -> {
            stop.set(true);
            wake.run();
          });
    }

    BlockingQueue<Optional<String>> lines = new ArrayBlockingQueue<>(1024);
    Thread reader = new Thread(() -> readLines(System.in, lines, wake), "stdin-reader");
    reader.setDaemon(true);
    reader.start();

    new Driver(pipe.source(), stop).run(lines);
    STDOUT.flush();
    log("exit 0");
    System.exit(0);
  }

  /** The reader thread: every line of stdin, then an empty Optional for end of file. */
  private static void readLines(
      InputStream in, BlockingQueue<Optional<String>> lines, Runnable wake) {
    try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
      String line;
      while ((line = r.readLine()) != null) {
        lines.put(Optional.of(line));
        wake.run();
      }
    } catch (IOException e) {
      log("stdin: " + e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return;
    }
    try {
      lines.put(Optional.empty());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    wake.run();
  }

  private static void wake(Pipe.SinkChannel sink) {
    try {
      sink.write(ByteBuffer.wrap(new byte[] {1}));
    } catch (IOException e) {
      // the driver is shutting down and closed the pipe
    }
  }

  /** Writes one reply line and flushes (DRV-02). */
  static void reply(ObjectNode reply) {
    try {
      STDOUT.write(MAPPER.writeValueAsBytes(reply));
      STDOUT.write('\n');
      STDOUT.flush();
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    } catch (IOException e) {
      log("stdout: " + e);
    }
  }

  static void log(String msg) {
    System.err.println("jeromq driver: " + msg);
  }

  /** JeroMQ's version from the Maven metadata in its jar (shaded into ours). */
  static String jeromqVersion() {
    try (InputStream in =
        Main.class.getResourceAsStream("/META-INF/maven/org.zeromq/jeromq/pom.properties")) {
      if (in != null) {
        Properties p = new Properties();
        p.load(in);
        return p.getProperty("version", "unknown");
      }
    } catch (IOException e) {
      log("jeromq version: " + e);
    }
    return "unknown";
  }

  /** Whether CURVE works: jnacl is on the class path and makes a key pair. */
  static boolean curveWorks() {
    try {
      byte[][] pair = new zmq.io.mechanism.curve.Curve().keypair();
      return pair[0].length == 32 && pair[1].length == 32;
    } catch (RuntimeException | LinkageError e) {
      log("no CURVE: " + e);
      return false;
    }
  }
}
