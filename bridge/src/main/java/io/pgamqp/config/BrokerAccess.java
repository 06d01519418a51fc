package io.pgamqp.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigObject;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;
import javax.net.ssl.X509TrustManager;

/**
 * How the bridge authenticates to brokers and checks them, beyond what {@code amqp.broker} says: passwords kept out of
 * the table ({@code pgamqp.brokers."<broker_id>".password}, env {@code PGAMQP_BROKER_<ID>_PASSWORD}) and the CA that
 * TLS connections trust ({@code pgamqp.tls.*}). Immutable; validated on creation; {@link #toString()} shows no secret.
 */
public final class BrokerAccess {
  private static final Pattern ENV = Pattern.compile("PGAMQP_BROKER_(.*)_PASSWORD");

  private final Map<Integer, String> passwords;
  private final String passwordSources;
  private final X509TrustManager trust;
  private final String trustSource;

  private BrokerAccess(Map<Integer, String> passwords, String passwordSources, X509TrustManager trust,
      String trustSource) {
    this.passwords = passwords;
    this.passwordSources = passwordSources;
    this.trust = trust;
    this.trustSource = trustSource;
  }

  public static BrokerAccess create(Config config) {
    return create(config, System.getenv());
  }

  /** With {@code env} instead of the process environment (tests). */
  public static BrokerAccess create(Config config, Map<String, String> env) {
    Map<Integer, String> passwords = new TreeMap<>();
    Map<Integer, String> sources = new TreeMap<>();
    if (config.hasPath("pgamqp.brokers")) {
      ConfigObject brokers;
      try {
        brokers = config.getObject("pgamqp.brokers");
      } catch (ConfigException e) {
        throw new ConfigError("setting pgamqp.brokers must be an object keyed by broker_id, such as"
            + " pgamqp.brokers.\"1\".password = \"...\": " + e.getMessage(), e);
      }
      for (Map.Entry<String, ConfigValue> e : brokers.entrySet()) {
        String key = "pgamqp.brokers.\"" + e.getKey() + "\"";
        int id = brokerId(e.getKey(), "setting " + key);
        if (e.getValue().valueType() != ConfigValueType.OBJECT) {
          throw new ConfigError("setting " + key + " must be an object such as { password = \"...\" }");
        }
        ConfigObject broker = (ConfigObject) e.getValue();
        for (String k : broker.keySet()) {
          if (!k.equals("password")) {
            throw new ConfigError("setting " + key + "." + k + " is unknown (only password may be set per broker)");
          }
        }
        ConfigValue pw = broker.get("password");
        if (pw == null) {
          continue;
        }
        if (pw.valueType() != ConfigValueType.STRING || ((String) pw.unwrapped()).isEmpty()) {
          throw new ConfigError("setting " + key + ".password must be a non-empty string");
        }
        passwords.put(id, (String) pw.unwrapped());
        sources.put(id, key + ".password");
      }
    }
    for (Map.Entry<String, String> e : new TreeMap<>(env).entrySet()) {
      Matcher m = ENV.matcher(e.getKey());
      if (!m.matches()) {
        continue;
      }
      int id = brokerId(m.group(1), "environment variable " + e.getKey());
      if (e.getValue().isEmpty()) {
        throw new ConfigError("environment variable " + e.getKey() + " must not be empty");
      }
      passwords.put(id, e.getValue()); // the environment wins, as for every other setting
      sources.put(id, e.getKey());
    }

    Settings s = new Settings(config, "pgamqp.tls");
    String caFile = s.string("ca-file");
    String store = s.string("trust-store");
    X509TrustManager trust;
    String trustSource;
    if (!caFile.isEmpty() && !store.isEmpty()) {
      throw new ConfigError("settings pgamqp.tls.ca-file and pgamqp.tls.trust-store: set at most one of them");
    } else if (!caFile.isEmpty()) {
      trust = trustManager(caKeyStore(caFile), "pgamqp.tls.ca-file");
      trustSource = "pgamqp.tls.ca-file " + caFile;
    } else if (!store.isEmpty()) {
      trust = trustManager(trustStore(store, s.string("trust-store-password"), s.string("trust-store-type")),
          "pgamqp.tls.trust-store");
      trustSource = "pgamqp.tls.trust-store " + store;
    } else {
      trust = trustManager(null, "pgamqp.tls");
      trustSource = "the JDK's default CA certificates";
    }
    return new BrokerAccess(Collections.unmodifiableMap(passwords), sources.toString(), trust, trustSource);
  }

  /** The password configured for {@code brokerId}, or null when the table's applies. */
  public String password(int brokerId) {
    return passwords.get(brokerId);
  }

  /** Where the CA certificates come from, for logs and errors. */
  public String trustSource() {
    return trustSource;
  }

  /**
   * A TLS context for one connection. With {@code verify}, the server's chain must lead to a configured CA and its
   * certificate must name {@code expectedName} (a DNS name, wildcards in the left-most label, or an IP address in its
   * subjectAltName); without it, any certificate is accepted (encryption only).
   */
  public SSLContext sslContext(String expectedName, boolean verify) throws GeneralSecurityException {
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(null, new TrustManager[] {new Checking(trust, expectedName, verify, trustSource)}, null);
    return context;
  }

  private static int brokerId(String text, String what) {
    try {
      int id = Integer.parseInt(text);
      if (id > 0) {
        return id;
      }
    } catch (NumberFormatException e) {
      // below
    }
    throw new ConfigError(what + ": '" + text + "' is not a broker_id (a positive whole number)");
  }

  private static KeyStore caKeyStore(String file) {
    try (InputStream in = Files.newInputStream(Path.of(file))) {
      Collection<? extends Certificate> certs = CertificateFactory.getInstance("X.509").generateCertificates(in);
      if (certs.isEmpty()) {
        throw new ConfigError("setting pgamqp.tls.ca-file: " + file + " holds no PEM certificate");
      }
      KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
      ks.load(null, null);
      int i = 0;
      for (Certificate c : certs) {
        ks.setCertificateEntry("ca-" + i++, c);
      }
      return ks;
    } catch (IOException | GeneralSecurityException e) {
      throw new ConfigError("setting pgamqp.tls.ca-file: cannot read CA certificates from " + file + ": " + e, e);
    }
  }

  private static KeyStore trustStore(String file, String password, String type) {
    try (InputStream in = Files.newInputStream(Path.of(file))) {
      KeyStore ks = KeyStore.getInstance(type);
      ks.load(in, password.isEmpty() ? null : password.toCharArray());
      return ks;
    } catch (IOException | GeneralSecurityException e) {
      // Not e.toString() of the password: the exceptions name the file and the problem only.
      throw new ConfigError("setting pgamqp.tls.trust-store: cannot load " + type + " trust store " + file
          + " (check pgamqp.tls.trust-store-password and pgamqp.tls.trust-store-type): " + e.getMessage(), e);
    }
  }

  private static X509TrustManager trustManager(KeyStore ks, String key) {
    try {
      TrustManagerFactory f = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      f.init(ks);
      for (TrustManager tm : f.getTrustManagers()) {
        if (tm instanceof X509TrustManager x) {
          return x;
        }
      }
      throw new ConfigError("setting " + key + ": no X.509 trust manager available");
    } catch (GeneralSecurityException e) {
      throw new ConfigError("setting " + key + ": " + e.getMessage(), e);
    }
  }

  @Override
  public String toString() {
    return "BrokerAccess[passwords from " + passwordSources + ", CA from " + trustSource + "]";
  }

  /** Chain check by the JDK's trust manager, then our own host-name check against the expected name. */
  private static final class Checking extends X509ExtendedTrustManager {
    private final X509TrustManager delegate;
    private final String expected;
    private final boolean verify;
    private final String trustSource;

    Checking(X509TrustManager delegate, String expected, boolean verify, String trustSource) {
      this.delegate = delegate;
      this.expected = expected;
      this.verify = verify;
      this.trustSource = trustSource;
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
      if (!verify) {
        return;
      }
      try {
        delegate.checkServerTrusted(chain, authType);
      } catch (CertificateException e) {
        throw new CertificateException("the broker's certificate is not signed by a trusted CA (CA certificates from "
            + trustSource + "): " + e.getMessage(), e);
      }
      checkName(chain[0]);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
        throws CertificateException {
      checkServerTrusted(chain, authType);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
        throws CertificateException {
      checkServerTrusted(chain, authType);
    }

    private void checkName(X509Certificate cert) throws CertificateException {
      List<String> names = new ArrayList<>();
      boolean ip = isIpLiteral(expected);
      Collection<List<?>> sans;
      try {
        sans = cert.getSubjectAlternativeNames();
      } catch (CertificateParsingException e) {
        throw new CertificateException("the broker's certificate has an unreadable subjectAltName", e);
      }
      if (sans != null) {
        for (List<?> san : sans) {
          int type = (Integer) san.get(0);
          String value = String.valueOf(san.get(1));
          names.add(value);
          if (ip && type == 7 && sameAddress(value, expected)) {
            return;
          }
          if (!ip && type == 2 && dnsMatches(value, expected)) {
            return;
          }
        }
      }
      throw new CertificateException("the broker's certificate is for " + (names.isEmpty() ? "no host name" : names)
          + ", not for '" + expected + "' (set amqp.broker.tls_server_name to the name in the certificate)");
    }

    private static boolean isIpLiteral(String host) {
      return host.contains(":") || host.matches("[0-9.]+");
    }

    private static boolean sameAddress(String a, String b) {
      try {
        return InetAddress.getByName(a).equals(InetAddress.getByName(b)); // literals only: no lookup
      } catch (IOException e) {
        return false;
      }
    }

    private static boolean dnsMatches(String pattern, String host) {
      String p = pattern.toLowerCase(Locale.ROOT);
      String h = host.toLowerCase(Locale.ROOT);
      if (p.startsWith("*.")) {
        int dot = h.indexOf('.');
        return dot > 0 && h.substring(dot).equals(p.substring(1));
      }
      return p.equals(h);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
      throw new CertificateException("not a server");
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
        throws CertificateException {
      throw new CertificateException("not a server");
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
        throws CertificateException {
      throw new CertificateException("not a server");
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      return delegate.getAcceptedIssuers();
    }
  }
}
