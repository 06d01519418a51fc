package io.pgamqp.http;

import io.pgamqp.broker.BridgeStatus;
import io.pgamqp.broker.BrokerStatus;
import java.util.ArrayList;
import java.util.List;

/**
 * Whether the bridge is ready, and the JSON body that says why. Ready when the database is reachable and every broker
 * this bridge owns is running, or is retrying after a recorded failure (backoff, or connecting again after one):
 * a broker that is down is the broker's problem, reported with its reason, and restarting or unlisting the bridge
 * would not help. Not ready: the database unreachable; schema amqp missing or older than the bridge; a cluster node not (yet, or no longer) Up; an owned broker
 * connecting for the first time, stopping, or backing off with no reason; the status not available. Brokers another bridge owns (standby) do not count.
 *
 * @param reasons why not ready, one line each ({@code broker 1: ...}); empty when ready
 */
record Readiness(boolean ready, List<String> reasons, String json) {

  static Readiness of(BridgeStatus status) {
    List<String> reasons = new ArrayList<>();
    if (!status.databaseReachable()) {
      reasons.add("database unreachable" + (status.databaseError() == null ? "" : ": " + status.databaseError()));
    }
    // Without its schema the bridge reads no broker and sends nothing: not ready, whatever else it says.
    if (status.schemaProblem() != null) {
      reasons.add(status.schemaProblem());
    }
    // A node that has not joined (or is leaving) gets no brokers from the cluster: not ready, whatever it runs.
    if (status.clusterMember() != null && !"Up".equals(status.clusterMember())) {
      reasons.add("cluster member status " + status.clusterMember() + ", not Up");
    }
    StringBuilder brokers = new StringBuilder("[");
    for (BrokerStatus b : status.brokers()) {
      String problem = problem(b);
      if (problem != null) {
        reasons.add("broker " + b.brokerId() + ": " + problem);
      }
      if (brokers.length() > 1) {
        brokers.append(',');
      }
      brokers.append("{\"broker\":").append(b.brokerId())
          .append(",\"ready\":").append(problem == null)
          .append(",\"reason\":");
      Json.string(brokers, problem).append(",\"phase\":");
      Json.string(brokers, b.phase().text()).append(",\"owned\":").append(b.owned()).append(",\"connectedTo\":");
      Json.string(brokers, b.connectedTo()).append(",\"lastError\":");
      Json.string(brokers, b.lastError()).append(",\"since\":");
      Json.string(brokers, b.since() == null ? null : b.since().toString()).append(",\"held\":[");
      for (int i = 0; i < b.held().size(); i++) {
        Json.string(i == 0 ? brokers : brokers.append(','), b.held().get(i));
      }
      brokers.append("]}");
    }
    brokers.append(']');
    StringBuilder json = new StringBuilder(128 + brokers.length());
    head(json, reasons);
    json.append(",\"database\":{\"reachable\":").append(status.databaseReachable()).append(",\"error\":");
    Json.string(json, status.databaseError()).append("},\"cluster\":");
    if (status.clusterMember() == null) {
      json.append("null");
    } else {
      Json.string(json.append("{\"member\":"), status.clusterMember()).append('}');
    }
    json.append(",\"brokers\":").append(brokers).append('}');
    return new Readiness(reasons.isEmpty(), List.copyOf(reasons), json.toString());
  }

  /** The status could not be had (timeout, failure). */
  static Readiness unavailable(String why) {
    List<String> reasons = List.of("bridge status unavailable: " + why);
    StringBuilder json = new StringBuilder();
    head(json, reasons);
    return new Readiness(false, reasons, json.append('}').toString());
  }

  /** Why {@code b} keeps the bridge from being ready, or null. */
  static String problem(BrokerStatus b) {
    if (!b.owned()) {
      return null;
    }
    return switch (b.phase()) {
      case RUNNING -> null;
      case BACKOFF -> b.lastError() != null ? null : "backing off without a recorded reason";
      case CONNECTING -> b.lastError() != null ? null : "connecting, not connected yet";
      case STOPPING -> "stopping";
      case STANDBY -> "standby although this bridge owns it";
    };
  }

  private static void head(StringBuilder json, List<String> reasons) {
    json.append("{\"status\":\"").append(reasons.isEmpty() ? "UP" : "DOWN").append("\",\"reasons\":[");
    for (int i = 0; i < reasons.size(); i++) {
      if (i > 0) {
        json.append(',');
      }
      Json.string(json, reasons.get(i));
    }
    json.append(']');
  }
}
