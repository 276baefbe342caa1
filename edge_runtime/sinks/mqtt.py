"""`--mqtt`: readings to an MQTT broker, with availability and Home Assistant discovery.

Topics under the base topic (default `mnist-edge/<hostname>`):
  <base>/reading       each published result: the `--json` schema plus "fps"; QoS 1
  <base>/state         the numbers read, as text ("472", "472 13", "" for none); QoS 1
  <base>/availability  retained "online"; the broker publishes the last will "offline" if we vanish
  homeassistant/sensor/<device-id>/{number,confidence,fps}/config   retained discovery configs, sent again
                       whenever Home Assistant announces "online" on homeassistant/status

A reading is published when the numbers change, at most once per `--mqtt-interval` seconds, and every
HEARTBEAT_S seconds even without a change (so FPS and confidence stay fresh). While the broker is away the
run goes on: readings wait in a bounded queue (the oldest is dropped first, and counted) and are sent in
order once paho's network thread has reconnected (back-off from RECONNECT_MIN_S to RECONNECT_MAX_S).

Threads: paho's network thread runs the callbacks while holding paho's own locks, so the callbacks only
flip flags under our lock; a sender thread of ours makes every publish call, never holding our lock
then. The frame loop only appends to the queue: a slow or absent broker never slows the camera.
"""
from __future__ import annotations

import json
import logging
import os
import re
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from mnist_edge.edge_runtime.sinks import Delivery, Sink

log = logging.getLogger("mnist_edge")

PASSWORD_ENV = "MNIST_EDGE_MQTT_PASSWORD"
DISCOVERY_PREFIX = "homeassistant"
HEARTBEAT_S = 60.0        # an unchanged reading is re-sent this often
CONNECT_TIMEOUT_S = 10.0  # for the broker's answer (CONNACK) at start
RECONNECT_MIN_S, RECONNECT_MAX_S = 1, 30
MAX_INFLIGHT = 20         # readings handed to paho and not yet acknowledged (paho's own in-flight window)
FLUSH_TIMEOUT_S = 5.0     # at the end, how long queued readings may take to leave
KEEPALIVE_S = 30          # the broker declares us gone (last will) after 1.5x this without a packet


@dataclass(frozen=True)
class BrokerAddress:
    host: str
    port: int
    tls: bool
    user: str | None
    base_topic: str


def parse_url(url: str) -> BrokerAddress:
    """`mqtt[s]://[user@]host[:port][/base/topic]` → BrokerAddress; no password allowed in it."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts"):
        raise ValueError(f"--mqtt {url!r}: expected mqtt://[user@]host[:port][/base-topic] (or mqtts:// for TLS)")
    if parts.password is not None:
        raise ValueError(f"--mqtt: put the password in the environment variable {PASSWORD_ENV}, "
                         "not in the URL (command lines are visible to every user of the machine)")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"--mqtt {url!r}: the port must be a number in 0..65535") from None
    if not parts.hostname:
        raise ValueError(f"--mqtt {url!r}: no broker host")
    tls = parts.scheme == "mqtts"
    base = parts.path.strip("/") or f"mnist-edge/{socket.gethostname()}"
    if any(c in base for c in "#+") or "//" in base:
        raise ValueError(f"--mqtt {url!r}: the base topic {base!r} may not contain '#', '+' or empty levels")
    return BrokerAddress(parts.hostname, port or (8883 if tls else 1883), tls,
                         unquote(parts.username) if parts.username else None, base)


def device_id(base_topic: str) -> str:
    """Home Assistant's id for this reader: the base topic with only [A-Za-z0-9_-] kept."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", base_topic)


def discovery_configs(base: str, version: str) -> dict[str, dict]:
    """topic → retained Home Assistant MQTT discovery config, for the number, confidence and FPS sensors."""
    ident = device_id(base)
    device = {"identifiers": [ident], "name": f"mnist-edge {base.rsplit('/', 1)[-1]}",
              "manufacturer": "mnist-edge", "model": "camera digit reader", "sw_version": version}
    common = {"availability_topic": f"{base}/availability", "payload_available": "online",
              "payload_not_available": "offline", "device": device}
    sensors = {
        "number": {"name": "Number", "state_topic": f"{base}/state", "icon": "mdi:numeric"},
        # The least sure digit of the reading: one doubtful digit makes the whole number doubtful.
        "confidence": {"name": "Confidence", "state_topic": f"{base}/reading", "unit_of_measurement": "%",
                       "state_class": "measurement", "icon": "mdi:check-decagram",
                       "value_template": "{% set c = value_json.digits | map(attribute='confidence') | list %}"
                                         "{{ ((c | min) * 100) | round(1) if c else 0 }}"},
        "fps": {"name": "FPS", "state_topic": f"{base}/reading", "unit_of_measurement": "fps",
                "state_class": "measurement", "entity_category": "diagnostic", "icon": "mdi:speedometer",
                "value_template": "{{ value_json.fps }}"},
    }
    return {f"{DISCOVERY_PREFIX}/sensor/{ident}/{name}/config":
            {**config, "unique_id": f"{ident}_{name}", **common}
            for name, config in sensors.items()}


class MqttSink(Sink):
    """Publish readings to the broker at `url`; connects (and fails clearly) in the constructor.

    `password` defaults to $MNIST_EDGE_MQTT_PASSWORD (used only with a user in the URL).
    """

    def __init__(self, url: str, interval_s: float = 1.0, ca_file: str | None = None, queue_size: int = 1000,
                 password: str | None = None):
        import ssl  # here, not at the top: `mnist-edge --help` reads this module's flags

        try:
            import paho.mqtt.client as mqtt
        except ImportError:
            raise ImportError("--mqtt needs paho-mqtt: pip install 'paho-mqtt>=2' "
                              "(or reinstall with the edge extra)") from None
        if interval_s < 0:
            raise ValueError(f"--mqtt-interval must be >= 0 seconds, got {interval_s}")
        if queue_size < 1:
            raise ValueError(f"--mqtt-queue must be >= 1, got {queue_size}")
        self.address = address = parse_url(url)
        if ca_file and not address.tls:
            raise ValueError("--mqtt-ca needs an mqtts:// URL")
        self.base, self.interval_s = address.base_topic, interval_s
        self.sent = self.dropped = 0
        self._lock = threading.Condition()   # guards the fields below; wakes the sender thread
        self._pending: deque[tuple[str, str]] = deque(maxlen=queue_size)  # (reading JSON, state text)
        self._inflight: dict[int, bool] = {}  # paho mid → is a reading (not its state message)
        self._acked: set[int] = set()         # mids acknowledged by the broker, not yet counted
        self._connected = False
        self._announce = False                # (re)send availability and discovery
        self._stopping = False
        self._last_key: tuple[str, ...] | None = None
        self._last_at = float("-inf")
        self._first_connect = threading.Event()
        self._connect_error: str | None = None
        self._was_connected = False

        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"mnist-edge-{device_id(self.base)}")
        if address.user is not None:
            client.username_pw_set(address.user, password if password is not None else os.environ.get(PASSWORD_ENV))
        if address.tls:
            try:
                client.tls_set(ca_certs=ca_file)
            except (OSError, ssl.SSLError) as exc:
                raise OSError(f"--mqtt-ca {ca_file}: cannot load the CA certificate ({exc})") from None
        client.will_set(f"{self.base}/availability", "offline", qos=1, retain=True)
        client.reconnect_delay_set(RECONNECT_MIN_S, RECONNECT_MAX_S)
        client.on_connect, client.on_disconnect = self._on_connect, self._on_disconnect
        client.on_publish, client.on_message = self._on_publish, self._on_message
        self._client = client
        self._connect()
        self._sender = threading.Thread(target=self._send_loop, name="mqtt-sender", daemon=True)
        self._sender.start()
        log.info("MQTT: publishing to %s:%d under %s/", address.host, address.port, self.base)

    def _connect(self) -> None:
        import ssl

        where = f"MQTT broker {self.address.host}:{self.address.port}"
        try:
            self._client.connect(self.address.host, self.address.port, keepalive=KEEPALIVE_S)
        except ssl.SSLError as exc:
            raise OSError(f"{where}: TLS failed ({exc.reason or exc}); check --mqtt-ca") from None
        except OSError as exc:
            raise OSError(f"cannot reach the {where}: {exc.strerror or exc}") from None
        self._client.loop_start()
        if not self._first_connect.wait(CONNECT_TIMEOUT_S) or self._connect_error:
            self._client.loop_stop()
            reason = self._connect_error or f"no answer within {CONNECT_TIMEOUT_S:.0f} s"
            hint = (f" (check the user in --mqtt and {PASSWORD_ENV})"
                    if "authori" in reason.lower() or "password" in reason.lower() else "")
            raise OSError(f"the {where} refused the connection: {reason}{hint}")

    # -- paho's network thread: flags only, never a paho call under our lock ----------------------

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            if not self._first_connect.is_set():
                self._connect_error = str(reason_code)
                self._first_connect.set()
            else:
                log.warning("MQTT: the broker refused the reconnection: %s", reason_code)
            return
        client.subscribe(f"{DISCOVERY_PREFIX}/status", qos=1)
        with self._lock:
            self._connected, self._announce = True, True
            if self._was_connected:
                log.info("MQTT: broker back; sending %d queued readings", len(self._pending) + self._unacked())
            self._was_connected = True
            self._lock.notify_all()
        self._first_connect.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        with self._lock:
            was, self._connected = self._connected, False
        if was and not self._stopping:
            log.warning("MQTT: lost the broker (%s); queueing readings and reconnecting", reason_code)

    def _on_publish(self, client, userdata, mid, reason_code, properties) -> None:
        with self._lock:
            self._acked.add(mid)
            self._lock.notify_all()

    def _on_message(self, client, userdata, message) -> None:
        if message.topic == f"{DISCOVERY_PREFIX}/status" and message.payload == b"online":
            with self._lock:  # Home Assistant restarted and forgot its entities: announce again
                self._announce = True
                self._lock.notify_all()

    # -- the sender thread -------------------------------------------------------------------------

    def _unacked(self) -> int:
        return sum(self._inflight.values())

    def _count_acks(self) -> None:
        for mid in self._acked & self._inflight.keys():
            self.sent += self._inflight.pop(mid)
            self._acked.discard(mid)

    def _has_work(self) -> bool:
        self._count_acks()
        can_send = self._connected and self._pending and self._unacked() < MAX_INFLIGHT
        return self._stopping or (self._connected and self._announce) or bool(can_send)

    def _send_loop(self) -> None:
        while True:
            with self._lock:
                self._lock.wait_for(self._has_work, timeout=1.0)
                if self._stopping and not (self._connected and (self._pending or self._announce)):
                    return
                announce, self._announce = self._announce and self._connected, False
                batch = []
                while self._connected and self._pending and self._unacked() + len(batch) < MAX_INFLIGHT:
                    batch.append(self._pending.popleft())
            if announce:
                self._publish_announcements()
            for reading, state in batch:
                sent = [(self._client.publish(f"{self.base}/reading", reading, qos=1).mid, True),
                        (self._client.publish(f"{self.base}/state", state, qos=1).mid, False)]
                with self._lock:
                    self._inflight.update(sent)

    def _publish_announcements(self) -> None:
        from mnist_edge import __version__

        self._client.publish(f"{self.base}/availability", "online", qos=1, retain=True)
        for topic, config in discovery_configs(self.base, __version__).items():
            self._client.publish(topic, json.dumps(config), qos=1, retain=True)

    # -- the frame loop ------------------------------------------------------------------------------

    def write(self, delivery: Delivery) -> None:
        now = time.monotonic()
        key = tuple(n.text for n in delivery.result.numbers)
        since = now - self._last_at
        if not ((key != self._last_key and since >= self.interval_s) or since >= HEARTBEAT_S):
            return
        self._last_key, self._last_at = key, now
        reading = json.dumps({**delivery.result.to_json(), "fps": round(delivery.fps or 0.0, 2)})
        with self._lock:
            if len(self._pending) == self._pending.maxlen:
                self.dropped += 1  # the deque drops the oldest
            self._pending.append((reading, " ".join(key)))
            self._lock.notify_all()

    def queued(self) -> int:
        """Readings not acknowledged by the broker yet (waiting or in flight)."""
        with self._lock:
            self._count_acks()
            return len(self._pending) + self._unacked()

    def close(self) -> None:
        deadline = time.monotonic() + FLUSH_TIMEOUT_S
        while self.queued() and self._connected and time.monotonic() < deadline:
            time.sleep(0.02)
        with self._lock:
            self._stopping = True
            self._lock.notify_all()
        self._sender.join(timeout=2.0)
        if self._connected:  # a clean goodbye: the last will is only for vanishing
            self._client.publish(f"{self.base}/availability", "offline", qos=1, retain=True).wait_for_publish(2.0)
        self._client.disconnect()
        self._client.loop_stop()
        if self.dropped or self.queued():
            log.warning("MQTT: %d readings never reached the broker (%d dropped from a full queue)",
                        self.queued() + self.dropped, self.dropped)

    def summary(self) -> str:
        return f"MQTT {self.sent} readings sent, {self.queued()} queued, {self.dropped} dropped"


def add_arguments(parser) -> None:
    from mnist_edge.cli import positive

    parser.add_argument("--mqtt", metavar="URL", default=None,
                        help="publish readings to an MQTT broker, mqtt://[user@]host[:port][/base-topic] "
                        f"(mqtts:// for TLS; password from ${PASSWORD_ENV}); announces Home Assistant sensors")
    parser.add_argument("--mqtt-interval", metavar="SECONDS", type=float, default=1.0,
                        help="publish a changed reading at most this often (default: 1)")
    parser.add_argument("--mqtt-ca", metavar="FILE", default=None,
                        help="CA certificate for an mqtts:// broker (default: the system's)")
    parser.add_argument("--mqtt-queue", metavar="N", type=positive(int), default=1000,
                        help="readings kept while the broker is away; the oldest go first (default: 1000)")


def from_args(args) -> MqttSink | None:
    if args.mqtt is None:
        if args.mqtt_ca is not None:
            raise ValueError("--mqtt-ca needs --mqtt URL")
        return None
    return MqttSink(args.mqtt, args.mqtt_interval, args.mqtt_ca, args.mqtt_queue)
