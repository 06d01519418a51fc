package io.pgamqp.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigOrigin;

/**
 * Which database a command works on, and where that choice came from, in words for the user: a newcomer who set no
 * URL must learn that the command used the default database before being told to install anything there.
 */
public final class ChosenDatabase {
  private ChosenDatabase() {}

  /** E.g. "jdbc:postgresql://127.0.0.1:5432/postgres (the built-in default)". */
  public static String describe(Config config, DatabaseSettings db) {
    return db.displayUrl() + " (" + origin(config) + ")";
  }

  /** How to point the command at another database. */
  public static String howToChoose() {
    return "set PGAMQP_DB_URL=jdbc:postgresql://HOST:PORT/DATABASE (or pgamqp.db.url in the config file)"
        + " to use another database";
  }

  public static String origin(Config config) {
    ConfigOrigin o = config.getValue("pgamqp.db.url").origin();
    String d = o.description() == null ? "" : o.description();
    if (d.contains("env var")) {
      return "from PGAMQP_DB_URL";
    }
    if (d.contains("system propert")) {
      return "from -Dpgamqp.db.url";
    }
    if ("reference.conf".equals(o.resource()) || d.startsWith("reference.conf")) {
      return "the built-in default: PGAMQP_DB_URL is not set";
    }
    if (o.filename() != null) {
      return "from " + o.filename() + (o.lineNumber() > 0 ? ":" + o.lineNumber() : "")
          + "; PGAMQP_DB_URL is not set";
    }
    return "from " + d;
  }
}
