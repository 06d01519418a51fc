package io.pgamqp.deploy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The distribution {@code mvn package} built ({@code pgamqp-<version>.tar.gz}, path and version passed by failsafe),
 * and the deployment files in the repository's {@code config/}.
 */
final class Distribution {
  private Distribution() {}

  /** The version the build gave the distribution. */
  static String version() {
    return required("pgamqp.version");
  }

  /** {@code bridge/target/pgamqp-<version>.tar.gz}. */
  static Path tarball() {
    Path tarball = Path.of(required("pgamqp.distribution"));
    if (!Files.isRegularFile(tarball)) {
      throw new IllegalStateException(tarball + " does not exist: run the *IT tests through `mvn verify`");
    }
    return tarball;
  }

  /** Unpacks the tarball into {@code directory} with the system's tar, as an operator would; its top folder. */
  static Path unpack(Path directory) throws IOException, InterruptedException {
    Process tar = new ProcessBuilder("tar", "xzf", tarball().toString(), "-C", directory.toString())
        .redirectErrorStream(true).start();
    if (!tar.waitFor(60, TimeUnit.SECONDS) || tar.exitValue() != 0) {
      throw new IllegalStateException("tar xzf " + tarball() + " failed: " + new String(tar.getInputStream()
          .readAllBytes()));
    }
    return directory.resolve("pgamqp-" + version());
  }

  /** A file of the repository ({@code PGAMQP_REPO_ROOT}, set by surefire and failsafe). */
  static Path repositoryFile(String relative) {
    String root = System.getenv("PGAMQP_REPO_ROOT");
    Path base = root == null || root.isBlank() ? Path.of("..") : Path.of(root);
    return base.resolve(relative).normalize();
  }

  /** Lines of a repository file. */
  static List<String> lines(String relative) throws IOException {
    return Files.readAllLines(repositoryFile(relative));
  }

  private static String required(String property) {
    String value = System.getProperty(property);
    if (value == null || value.isBlank()) {
      throw new IllegalStateException("system property " + property + " is not set: run the *IT tests through"
          + " `mvn verify` (failsafe sets it)");
    }
    return value;
  }
}
