package io.pgamqp.security;

import java.io.IOException;
import java.math.BigInteger;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/** A throwaway certificate authority (BouncyCastle) that issues server certificates for tests. */
final class TestCertificates {
  private static final AtomicLong SERIAL = new AtomicLong(System.currentTimeMillis());

  /** A CA: its key pair and self-signed certificate. */
  record Ca(KeyPair keys, X509Certificate certificate) {
    /** The CA certificate as a PEM file (deleted on exit). */
    Path pemFile() throws IOException {
      Path p = Files.createTempFile("pgamqp-test-ca", ".pem");
      p.toFile().deleteOnExit();
      Files.writeString(p, pem(certificate), StandardCharsets.US_ASCII);
      return p;
    }
  }

  /** A server identity: key and chain (server certificate, then its CA). */
  record Server(KeyPair keys, X509Certificate certificate, Ca issuer) {
    SSLContext sslContext() throws Exception {
      KeyStore ks = KeyStore.getInstance("PKCS12");
      ks.load(null, null);
      char[] pw = "test".toCharArray();
      ks.setKeyEntry("server", keys.getPrivate(), pw, new X509Certificate[] {certificate, issuer.certificate()});
      KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      kmf.init(ks, pw);
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(kmf.getKeyManagers(), null, null);
      return ctx;
    }
  }

  private TestCertificates() {}

  static Ca newCa(String name) throws Exception {
    KeyPair kp = keyPair();
    X500Name subject = new X500Name("CN=" + name);
    X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(subject, BigInteger.valueOf(SERIAL.incrementAndGet()),
        notBefore(), notAfter(), subject, kp.getPublic());
    b.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
    b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
    return new Ca(kp, sign(b, kp));
  }

  /** A server certificate issued by {@code ca} for {@code names} (IP literals become iPAddress entries). */
  static Server issue(Ca ca, String... names) throws Exception {
    KeyPair kp = keyPair();
    X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(
        new X500Name(ca.certificate().getSubjectX500Principal().getName()),
        BigInteger.valueOf(SERIAL.incrementAndGet()), notBefore(), notAfter(), new X500Name("CN=" + names[0]),
        kp.getPublic());
    List<GeneralName> sans = new ArrayList<>();
    for (String n : names) {
      boolean ip = n.matches("[0-9.]+") || n.contains(":");
      sans.add(ip ? new GeneralName(GeneralName.iPAddress, InetAddress.getByName(n).getHostAddress())
          : new GeneralName(GeneralName.dNSName, n));
    }
    b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(sans.toArray(GeneralName[]::new)));
    b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
    b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth));
    return new Server(kp, sign(b, ca.keys()), ca);
  }

  static String pem(X509Certificate c) {
    try {
      return "-----BEGIN CERTIFICATE-----\n"
          + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(c.getEncoded())
          + "\n-----END CERTIFICATE-----\n";
    } catch (java.security.cert.CertificateEncodingException e) {
      throw new IllegalStateException(e);
    }
  }

  private static X509Certificate sign(X509v3CertificateBuilder b, KeyPair signer) throws Exception {
    ContentSigner s = new JcaContentSignerBuilder("SHA256withRSA").build(signer.getPrivate());
    return new JcaX509CertificateConverter().getCertificate(b.build(s));
  }

  private static KeyPair keyPair() throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
    g.initialize(2048);
    return g.generateKeyPair();
  }

  private static Date notBefore() {
    return new Date(System.currentTimeMillis() - 3_600_000L);
  }

  private static Date notAfter() {
    return new Date(System.currentTimeMillis() + 86_400_000L);
  }
}
