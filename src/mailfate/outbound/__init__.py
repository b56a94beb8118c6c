"""What mailfate tells other systems: signed webhooks delivered from the durable outbox."""
