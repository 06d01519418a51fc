package io.pgamqp.cli;

import io.pgamqp.config.ConfigError;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * {@code pgamqp <command>} (the distribution's {@code bin/pgamqp}, or {@code java -jar pgamqp.jar}): install, run,
 * status, consume; {@code --version}; {@code --help}, also after each command. Exit codes: 0 ok, 1 failure, 2 usage or
 * settings.
 */
public final class Main {
  private static final String SETTINGS = """
      settings: config/application.conf (bin/pgamqp: the one beside bin/) or -Dconfig.file=FILE; env PGAMQP_DB_URL,
        PGAMQP_DB_SESSION_URL, PGAMQP_DB_USER, PGAMQP_DB_PASSWORD, PGAMQP_HTTP_PORT; clustered run:
        PGAMQP_CLUSTER_ENABLED, PGAMQP_CLUSTER_HOST, PGAMQP_CLUSTER_PORT, PGAMQP_CLUSTER_SEED_NODES""";
  private static final Map<String, String> HELP = Map.of(
      "install", """
          usage: pgamqp install
            creates schema amqp in the configured database, or upgrades it in place; lists what it created or
            changed (running it again changes nothing). Exit 0 done, 1 failed, 2 bad settings.
          """ + SETTINGS,
      "run", """
          usage: pgamqp run
            runs the bridge: streams amqp.outbox to the brokers of amqp.broker until SIGTERM or Ctrl-C, then stops
            claiming, waits up to pgamqp.bridge.drain-timeout for in-flight confirms and exits 0 (1: downed by the
            cluster). Serves GET /, /health/live, /health/ready and /metrics on pgamqp.http.port (default 8559).
          """ + SETTINGS,
      "status", StatusCommand.USAGE + """

            per broker: owner, connection, backlog, oldest pending, dead letters, last error (from the view
            amqp.status); --watch [SECONDS] redraws every SECONDS (default 2). Exit 0 shown, 1 database
            unreachable or schema missing, 2 bad option.
          """ + SETTINGS,
      "consume", ConsumeCommand.USAGE + """

            Exit 0 after --count messages, 1 when --timeout passed first or the broker is unreachable, 2 on a bad
            option.
          """ + SETTINGS);

  private Main() {}

  public static void main(String[] args) {
    if (args.length == 0) {
      System.err.println(usage());
      System.exit(2);
    }
    String[] rest = Arrays.copyOfRange(args, 1, args.length);
    if (HELP.containsKey(args[0]) && List.of(rest).stream().anyMatch(Main::asksForHelp)) {
      System.out.println(HELP.get(args[0]));
      System.exit(0);
    }
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
        case "consume" -> ConsumeCommand.run(rest);
        case "--version", "-V", "version" -> {
          System.out.println(Version.describe());
          yield 0;
        }
        case "help", "--help", "-h" -> {
          System.out.println(rest.length == 1 && HELP.containsKey(rest[0]) ? HELP.get(rest[0]) : usage());
          yield 0;
        }
        default -> {
          System.err.println("pgamqp: unknown command '" + args[0] + "'");
          System.err.println(usage());
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

  private static boolean asksForHelp(String arg) {
    return arg.equals("--help") || arg.equals("-h");
  }

  private static String usage() {
    return """
        usage: pgamqp <command>      (bin/pgamqp of the distribution, or java -jar pgamqp.jar)
          install   create or upgrade schema amqp in the configured database
          run       run the bridge: stream amqp.outbox to the brokers in amqp.broker
          status    per broker: owner, connection, backlog, oldest pending, dead letters, last error
                    (from the view amqp.status); --watch [SECONDS] redraws every SECONDS (default 2)
          consume   print what arrives on a queue (declared, and bound with --bind): a first message's check
          --version this build's version and commit
          pgamqp <command> --help  says more about a command
        """ + SETTINGS;
  }
}
