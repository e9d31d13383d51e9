"""Acting on uncertainty: watch rules per stream, the events they raise, where events go (WebSocket,
MQTT, webhooks, Prometheus) and the frames harvested for labelling. See docs/events.md."""
