package io.pgamqp.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Properties;

/**
 * This build's version and the commit it was built from, written into the jar by the build
 * ({@code io/pgamqp/version.properties}, see bridge/pom.xml). The commit ends in {@code -dirty} when the working
 * tree had uncommitted changes, and is {@code unknown} when the build ran outside a git checkout.
 */
public record Version(String version, String commit) {
  private static final String RESOURCE = "/io/pgamqp/version.properties";

  /** The version of the classes on the class path; {@code unknown} parts when built without the resource. */
  public static Version current() {
    Properties properties = new Properties();
    try (InputStream in = Version.class.getResourceAsStream(RESOURCE)) {
      if (in != null) {
        properties.load(in);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("reading " + RESOURCE, e);
    }
    return new Version(properties.getProperty("version", "unknown"), properties.getProperty("commit", "unknown"));
  }

  /** {@code pgamqp 0.1.0 (commit 0123456789ab)}: what {@code pgamqp --version} prints. */
  public static String describe() {
    Version v = current();
    return "pgamqp " + v.version() + " (commit " + v.commit() + ")";
  }
}
