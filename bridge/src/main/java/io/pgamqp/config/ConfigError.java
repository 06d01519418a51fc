package io.pgamqp.config;

/** A setting is missing or wrong. The message always names the HOCON key (and its environment variable, if any). */
public final class ConfigError extends RuntimeException {
  public ConfigError(String message) {
    super(message);
  }

  public ConfigError(String message, Throwable cause) {
    super(message, cause);
  }
}
