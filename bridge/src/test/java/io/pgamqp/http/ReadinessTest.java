package io.pgamqp.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgamqp.broker.BridgeStatus;
import io.pgamqp.broker.BrokerStatus;
import io.pgamqp.broker.BrokerStatus.Phase;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** The readiness rules, without HTTP. */
class ReadinessTest {

  private static final Instant SINCE = Instant.parse("2024-11-27T10:00:00Z");

  private static BrokerStatus broker(int id, Phase phase, boolean owned, String lastError) {
    return new BrokerStatus(id, phase, owned, phase == Phase.RUNNING ? "rabbit:5672" : null, lastError,
        SINCE);
  }

  @Test
  void readyWhenTheDatabaseAnswersAndOwnedBrokersRunOrRetryForAReason() {
    Readiness r = Readiness.of(new BridgeStatus(true, null, List.of(
        broker(1, Phase.RUNNING, true, null),
        broker(2, Phase.BACKOFF, true, "connection refused"),
        broker(3, Phase.CONNECTING, true, "connection refused"),
        broker(4, Phase.STANDBY, false, null),
        broker(5, Phase.CONNECTING, false, null))));
    assertTrue(r.ready(), r.json());
    assertEquals(List.of(), r.reasons());
    assertTrue(r.json().startsWith("{\"status\":\"UP\",\"reasons\":[]"), r.json());
  }

  @Test
  void aBridgeWithoutBrokersIsReadyIfTheDatabaseIs() {
    assertTrue(Readiness.of(new BridgeStatus(true, null, List.of())).ready());
  }

  @Test
  void aClusterNodeIsReadyOnlyWhenItsMemberStatusIsUp() {
    Readiness joining = Readiness.of(new BridgeStatus(true, null, List.of(), "Joining"));
    assertFalse(joining.ready());
    assertEquals(List.of("cluster member status Joining, not Up"), joining.reasons());
    assertTrue(joining.json().contains("\"cluster\":{\"member\":\"Joining\"}"), joining.json());
    assertTrue(Readiness.of(new BridgeStatus(true, null, List.of(), "Up")).ready());
    assertTrue(Readiness.of(new BridgeStatus(true, null, List.of())).json().contains("\"cluster\":null"));
  }

  @Test
  void notReadyWithoutTheDatabase() {
    Readiness r = Readiness.of(new BridgeStatus(false, "Connection refused", List.of()));
    assertFalse(r.ready());
    assertEquals(List.of("database unreachable: Connection refused"), r.reasons());
    assertTrue(r.json().contains("\"database\":{\"reachable\":false,\"error\":\"Connection refused\"}"), r.json());
  }

  @Test
  void ownedBrokersThatAreNotConnectedWithoutAReasonOrStoppingAreNotReady() {
    Readiness r = Readiness.of(new BridgeStatus(true, null, List.of(
        broker(1, Phase.CONNECTING, true, null),
        broker(2, Phase.BACKOFF, true, null),
        broker(3, Phase.STOPPING, true, null),
        broker(4, Phase.RUNNING, true, null))));
    assertFalse(r.ready());
    assertEquals(List.of("broker 1: connecting, not connected yet", "broker 2: backing off without a recorded reason",
        "broker 3: stopping"), r.reasons());
    assertNull(Readiness.problem(broker(4, Phase.RUNNING, true, null)));
  }

  @Test
  void theJsonNamesEveryBrokerAndEscapesText() {
    Readiness r = Readiness.of(new BridgeStatus(true, null, List.of(
        broker(7, Phase.CONNECTING, true, null),
        new BrokerStatus(8, Phase.BACKOFF, true, null, "bad \"vhost\"\nline 2", null))));
    assertEquals("{\"status\":\"DOWN\",\"reasons\":[\"broker 7: connecting, not connected yet\"],"
        + "\"database\":{\"reachable\":true,\"error\":null},\"cluster\":null,\"brokers\":["
        + "{\"broker\":7,\"ready\":false,\"reason\":\"connecting, not connected yet\",\"phase\":\"connecting\","
        + "\"owned\":true,\"connectedTo\":null,\"lastError\":null,\"since\":\"2024-11-27T10:00:00Z\",\"held\":[]},"
        + "{\"broker\":8,\"ready\":true,\"reason\":null,\"phase\":\"backoff\",\"owned\":true,\"connectedTo\":null,"
        + "\"lastError\":\"bad \\\"vhost\\\"\\nline 2\",\"since\":null,\"held\":[]}]}", r.json());
  }

  @Test
  void aRunningBrokerWithHeldDestinationsIsReadyAndListsThem() {
    Readiness r = Readiness.of(new BridgeStatus(true, null, List.of(new BrokerStatus(3, Phase.RUNNING, true,
        "rabbit:5672", null, null, List.of("orders.gone", "say \"hi\"")))));
    assertTrue(r.ready(), r::toString);
    assertTrue(r.json().contains("\"held\":[\"orders.gone\",\"say \\\"hi\\\"\"]"), r.json());
  }

  @Test
  void aStatusWithoutAPhaseIsRejectedWhereItIsMadeAndEachPhaseHasItsJsonName() {
    assertThrows(NullPointerException.class, () -> new BrokerStatus(1, null, true, null, null, null));
    assertEquals("standby connecting running backoff stopping",
        Arrays.stream(Phase.values()).map(Phase::text).collect(Collectors.joining(" ")));
  }
}
