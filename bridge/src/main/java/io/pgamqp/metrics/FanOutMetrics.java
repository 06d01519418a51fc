package io.pgamqp.metrics;

/** {@link BridgeMetrics#combine}: passes every call to each target in order. Thread-safe if the targets are. */
final class FanOutMetrics implements BridgeMetrics {
  private final BridgeMetrics[] targets;

  FanOutMetrics(BridgeMetrics[] targets) {
    this.targets = targets.clone();
    for (BridgeMetrics t : this.targets) {
      if (t == null) {
        throw new NullPointerException("BridgeMetrics.combine: a target is null");
      }
    }
  }

  @Override
  public void published(int brokerId, int messages) {
    for (BridgeMetrics t : targets) {
      t.published(brokerId, messages);
    }
  }

  @Override
  public void confirmed(int brokerId, int messages) {
    for (BridgeMetrics t : targets) {
      t.confirmed(brokerId, messages);
    }
  }

  @Override
  public void nacked(int brokerId, int messages) {
    for (BridgeMetrics t : targets) {
      t.nacked(brokerId, messages);
    }
  }

  @Override
  public void returned(int brokerId, int messages) {
    for (BridgeMetrics t : targets) {
      t.returned(brokerId, messages);
    }
  }

  @Override
  public void timedOut(int brokerId, int messages) {
    for (BridgeMetrics t : targets) {
      t.timedOut(brokerId, messages);
    }
  }

  @Override
  public void deadLettered(int brokerId, int messages) {
    for (BridgeMetrics t : targets) {
      t.deadLettered(brokerId, messages);
    }
  }

  @Override
  public void retried(int brokerId, int messages) {
    for (BridgeMetrics t : targets) {
      t.retried(brokerId, messages);
    }
  }

  @Override
  public void confirmLatency(int brokerId, long nanos) {
    for (BridgeMetrics t : targets) {
      t.confirmLatency(brokerId, nanos);
    }
  }

  @Override
  public void outboxQuery(int brokerId, OutboxQuery query, long nanos) {
    for (BridgeMetrics t : targets) {
      t.outboxQuery(brokerId, query, nanos);
    }
  }

  @Override
  public void batchSize(int brokerId, int rows) {
    for (BridgeMetrics t : targets) {
      t.batchSize(brokerId, rows);
    }
  }

  @Override
  public void reconnect(int brokerId) {
    for (BridgeMetrics t : targets) {
      t.reconnect(brokerId);
    }
  }

  @Override
  public void connectionState(int brokerId, boolean connected) {
    for (BridgeMetrics t : targets) {
      t.connectionState(brokerId, connected);
    }
  }

  @Override
  public void held(int brokerId, java.util.List<HeldSample> held) {
    for (BridgeMetrics t : targets) {
      t.held(brokerId, held);
    }
  }

  @Override
  public void heldDestination(int brokerId, int delta) {
    for (BridgeMetrics t : targets) {
      t.heldDestination(brokerId, delta);
    }
  }

  @Override
  public void owned(int brokerId, boolean owned) {
    for (BridgeMetrics t : targets) {
      t.owned(brokerId, owned);
    }
  }

  @Override
  public void backlog(int brokerId, long rows, double oldestAgeSeconds) {
    for (BridgeMetrics t : targets) {
      t.backlog(brokerId, rows, oldestAgeSeconds);
    }
  }

  @Override
  public void brokerRemoved(int brokerId) {
    for (BridgeMetrics t : targets) {
      t.brokerRemoved(brokerId);
    }
  }
}
