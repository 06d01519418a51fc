package io.pgamqp.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import java.time.Duration;

/** Reads typed values from a config subtree, turning Typesafe Config errors into {@link ConfigError}s that name the key. */
final class Settings {
  private final Config config;
  private final String prefix;

  Settings(Config config, String prefix) {
    this.config = config;
    this.prefix = prefix;
  }

  String key(String name) {
    return prefix + "." + name;
  }

  String string(String name) {
    try {
      return config.getString(key(name));
    } catch (ConfigException e) {
      throw new ConfigError("setting " + key(name) + ": " + e.getMessage(), e);
    }
  }

  int positiveInt(String name) {
    int value;
    try {
      value = config.getInt(key(name));
    } catch (ConfigException e) {
      throw new ConfigError("setting " + key(name) + " must be a whole number: " + e.getMessage(), e);
    }
    if (value <= 0) {
      throw new ConfigError("setting " + key(name) + " must be greater than 0, was " + value);
    }
    return value;
  }

  Duration positiveDuration(String name) {
    Duration value;
    try {
      value = config.getDuration(key(name));
    } catch (ConfigException e) {
      throw new ConfigError("setting " + key(name) + " must be a duration such as 500ms or 5s: " + e.getMessage(), e);
    }
    if (value.isNegative() || value.isZero()) {
      throw new ConfigError("setting " + key(name) + " must be greater than 0, was " + value);
    }
    return value;
  }

  /** A duration of 0 or more (0 has a meaning of its own, e.g. "at once"). */
  Duration nonNegativeDuration(String name) {
    Duration value;
    try {
      value = config.getDuration(key(name));
    } catch (ConfigException e) {
      throw new ConfigError("setting " + key(name) + " must be a duration such as 0, 500ms or 10m: " + e.getMessage(),
          e);
    }
    if (value.isNegative()) {
      throw new ConfigError("setting " + key(name) + " must not be negative, was " + value);
    }
    return value;
  }

  long positiveBytes(String name) {
    long value;
    try {
      value = config.getBytes(key(name));
    } catch (ConfigException e) {
      throw new ConfigError("setting " + key(name) + " must be a size such as 512k or 16M: " + e.getMessage(), e);
    }
    if (value <= 0) {
      throw new ConfigError("setting " + key(name) + " must be greater than 0, was " + value);
    }
    return value;
  }

  boolean bool(String name) {
    try {
      return config.getBoolean(key(name));
    } catch (ConfigException e) {
      throw new ConfigError("setting " + key(name) + " must be true or false: " + e.getMessage(), e);
    }
  }

  /** A TCP port, 0 meaning "any free port". */
  int port(String name, String env) {
    String named = env == null ? key(name) : key(name) + " (env " + env + ")";
    int value;
    try {
      value = config.getInt(key(name));
    } catch (ConfigException e) {
      throw new ConfigError("setting " + named + " must be a whole number: " + e.getMessage(), e);
    }
    if (value < 0 || value > 65_535) {
      throw new ConfigError("setting " + named + " must be a TCP port in 0..65535 (0 = any free port), was " + value);
    }
    return value;
  }

  double fraction(String name) {
    double value;
    try {
      value = config.getDouble(key(name));
    } catch (ConfigException e) {
      throw new ConfigError("setting " + key(name) + " must be a number: " + e.getMessage(), e);
    }
    if (value < 0 || value >= 1) {
      throw new ConfigError("setting " + key(name) + " must be in [0, 1), was " + value);
    }
    return value;
  }
}
