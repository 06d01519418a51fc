package io.pgamqp.cli;

import io.pgamqp.config.ConfigError;
import java.util.Arrays;

/**
 * {@code java -jar pgamqp.jar <command>}: install, run, status. Exit codes: 0 ok, 1 failure, 2 usage or
 * settings.
 */
public final class Main {
  private Main() {}

  public static void main(String[] args) {
    if (args.length == 0) {
      usage();
      System.exit(2);
    }
    String[] rest = Arrays.copyOfRange(args, 1, args.length);
    int code;
    try {
      code = switch (args[0]) {
        case "install" -> InstallCommand.run(rest);
        case "run" -> RunCommand.run(rest);
        case "demo" -> {
          // The service jar carries no database or broker server: the demo is a jar of its own.
          System.err.println("pgamqp: the demo is a jar of its own: java -jar bridge/demo/target/pgamqp-demo.jar");
          yield 2;
        }
        case "status" -> StatusCommand.run(rest);
        case "help", "--help", "-h" -> {
          usage();
          yield 0;
        }
        default -> {
          System.err.println("pgamqp: unknown command '" + args[0] + "'");
          usage();
          yield 2;
        }
      };
    } catch (ConfigError e) {
      System.err.println("pgamqp: " + e.getMessage());
      code = 2;
    } catch (Exception e) {
      System.err.println("pgamqp: " + args[0] + " failed: " + e.getMessage());
      code = 1;
    }
    System.exit(code);
  }

  private static void usage() {
    System.err.println("""
        usage: java -jar pgamqp.jar <command>
          install   create or upgrade schema amqp in the configured database
          run       run the bridge: stream amqp.outbox to the brokers in amqp.broker
          status    per broker: owner, connection, backlog, oldest pending, dead letters, last error
                    (from the view amqp.status); --watch [SECONDS] redraws every SECONDS (default 2)
        settings: config/application.conf or -Dconfig.file=FILE; env PGAMQP_DB_URL, PGAMQP_DB_SESSION_URL, PGAMQP_DB_USER,
          PGAMQP_DB_PASSWORD, PGAMQP_HTTP_PORT; clustered run: PGAMQP_CLUSTER_ENABLED, PGAMQP_CLUSTER_HOST,
          PGAMQP_CLUSTER_PORT, PGAMQP_CLUSTER_SEED_NODES""");
  }
}
