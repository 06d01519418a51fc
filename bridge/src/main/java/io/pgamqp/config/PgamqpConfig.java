package io.pgamqp.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import java.io.File;

/**
 * Loads configuration: {@code -Dconfig.file=...} if given, else {@code config/application.conf} when it exists in the
 * working directory, else the built-in defaults; environment variables (PGAMQP_*) override, as reference.conf says.
 */
public final class PgamqpConfig {
  private PgamqpConfig() {}

  public static Config load() {
    try {
      if (System.getProperty("config.file") == null && System.getProperty("config.resource") == null
          && System.getProperty("config.url") == null) {
        File local = new File("config/application.conf");
        if (local.isFile()) {
          return ConfigFactory.load(ConfigFactory.parseFile(local));
        }
      }
      return ConfigFactory.load();
    } catch (ConfigException e) {
      throw new ConfigError("configuration: " + e.getMessage(), e);
    }
  }
}
