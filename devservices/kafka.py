"""Apache Kafka (KRaft, combined broker+controller nodes) run natively from Maven jars: a single
node (KafkaService) or a cluster of them (KafkaCluster).

The jars come from Maven Central through devservices/kafka/pom.xml and are cached under
``${LIVEBOARD_CACHE:-~/.cache/liveboard}/kafka-<version>/lib``; ``python -m devservices.kafka fetch``
fills the cache (scripts/bootstrap.sh does), and KafkaService.start() fetches when it is empty.
"""
from __future__ import annotations

import base64
import fcntl
import os
import shutil
import sys
import uuid
from pathlib import Path

from devservices._process import Service, ServiceGroup, free_port, logs_report, port_open, run_checked, wait_until

KAFKA_VERSION = "3.9.1"  # keep in step with devservices/kafka/pom.xml
POM = Path(__file__).resolve().parent / "kafka" / "pom.xml"
_MARKER = ".complete"


def cache_root() -> Path:
    return Path(os.environ.get("LIVEBOARD_CACHE") or Path.home() / ".cache" / "liveboard")


def jars_dir(cache: Path | None = None) -> Path:
    return (cache or cache_root()) / f"kafka-{KAFKA_VERSION}" / "lib"


def _complete(lib: Path) -> bool:
    marker = lib / _MARKER
    if not marker.is_file():
        return False
    names = [n for n in marker.read_text().split() if n]
    return bool(names) and all((lib / n).is_file() for n in names)


def fetch_jars(cache: Path | None = None, *, quiet: bool = True) -> Path:
    """Make sure the Kafka runtime jars are in the cache; returns the lib dir.

    Skips Maven when a previous fetch completed (marker file listing the jars). Safe to call from
    several processes at once (file lock).
    """
    lib = jars_dir(cache)
    if _complete(lib):
        return lib
    home = lib.parent
    home.mkdir(parents=True, exist_ok=True)
    with open(home / ".fetch.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _complete(lib):
            return lib
        mvn = shutil.which("mvn")
        if mvn is None:
            raise RuntimeError("Kafka jars are not cached and Maven (mvn) is not installed; "
                               "run scripts/bootstrap.sh or install maven")
        staging = home / f"lib.tmp-{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        log_path = home / "fetch.log"
        log_path.write_text("")
        cmd = [mvn, "-B", "-f", str(POM), "dependency:copy-dependencies",
               f"-DoutputDirectory={staging}", "-DincludeScope=runtime"]
        if quiet:
            cmd.insert(1, "-q")
        try:
            run_checked(cmd, log_path=log_path, what="fetching the Kafka jars with Maven", timeout=900)
            jars = sorted(p.name for p in staging.glob("*.jar"))
            if not any(n.startswith("kafka_2.13-") for n in jars):
                raise RuntimeError(f"Maven finished but no kafka_2.13 jar is in {staging}\n"
                                   f"{logs_report([log_path])}")
            (staging / _MARKER).write_text("\n".join(jars) + "\n")
            shutil.rmtree(lib, ignore_errors=True)
            staging.rename(lib)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return lib


def java_executable() -> str:
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").is_file():
        return str(Path(java_home) / "bin" / "java")
    java = shutil.which("java")
    if java is None:
        raise RuntimeError("java is not installed (needed for the Kafka broker)")
    return java


def random_cluster_id() -> str:
    """Like `kafka-storage.sh random-uuid`: 16 random bytes, base64url without padding."""
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not text.startswith("-"):  # Kafka avoids ids that look like a CLI flag
            return text


LOG4J = """\
log4j.rootLogger=WARN, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
"""


class KafkaService(Service):
    """Kafka 3.9 in KRaft combined mode on 127.0.0.1; ``bootstrap_servers`` is "127.0.0.1:<port>"."""

    name = "kafka"

    def __init__(self, base_dir, *, port: int | None = None, controller_port: int | None = None,
                 heap: str = "512m", extra_properties: dict | None = None, startup_timeout: float = 120,
                 stop_timeout: float = 30):
        super().__init__(base_dir, startup_timeout=startup_timeout, stop_timeout=stop_timeout)
        self.port = port
        self.controller_port = controller_port
        self.heap = heap
        self.extra_properties = dict(extra_properties or {})
        self.lib: Path | None = None
        self.cluster_id: str | None = None

    @property
    def bootstrap_servers(self) -> str:
        if self.port is None:
            raise RuntimeError("KafkaService has not been started")
        return f"127.0.0.1:{self.port}"

    # -- Service hooks ---------------------------------------------------------------------
    def _properties(self) -> dict[str, str]:
        """server.properties before ``extra_properties``; ports are assigned by now."""
        return {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@127.0.0.1:{self.controller_port}",
            "listeners": f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": str(self.data_dir),
            "num.partitions": "1",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "4",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "transaction.state.log.num.partitions": "4",
            "group.initial.rebalance.delay.ms": "0",
            # After a kill -9 the restarted broker is fenced until its old session expires
            # (default 9 s): keep that short so fault tests do not wait ~15 s per restart.
            "broker.heartbeat.interval.ms": "500",
            "broker.session.timeout.ms": "4000",
        }

    @property
    def data_dir(self) -> Path:
        return self._root / "data"

    def _prepare(self) -> None:
        self.lib = fetch_jars()
        self.port = self.port or free_port()
        self.controller_port = self.controller_port or free_port()
        root = self._root
        props = self._properties()
        props.update({k: str(v) for k, v in self.extra_properties.items()})
        (root / "server.properties").write_text("".join(f"{k}={v}\n" for k, v in props.items()))
        (root / "log4j.properties").write_text(LOG4J)
        self.cluster_id = self.cluster_id or random_cluster_id()  # a cluster's nodes share one
        run_checked(self._java("kafka.tools.StorageTool", "format", "-t", self.cluster_id,
                               "-c", str(root / "server.properties"), heap="256m"),
                    log_path=self.log_path, what="formatting the Kafka storage", cwd=root)

    def _java(self, main: str, *args: str, heap: str | None = None) -> list[str]:
        return [java_executable(), f"-Xmx{heap or self.heap}", "-XX:+UseG1GC", "-Djava.awt.headless=true",
                f"-Dlog4j.configuration=file:{self._root / 'log4j.properties'}",
                "-cp", f"{self.lib}/*", main, *args]

    def _command(self) -> list[str]:
        return self._java("kafka.Kafka", str(self._root / "server.properties"))

    def _ready(self) -> bool:
        if not port_open(self.port):
            return False
        return bool(self.registered_brokers())

    def registered_brokers(self) -> set[int]:
        """Ids of the brokers this broker's metadata lists as alive (fenced brokers are left out)."""
        from kafka import KafkaAdminClient  # kafka-python; imported lazily

        admin = KafkaAdminClient(bootstrap_servers=self.bootstrap_servers, client_id="devservices-probe",
                                 request_timeout_ms=5000)
        try:
            brokers = admin.describe_cluster().get("brokers", [])
            # Kafka 3.9 leaves fenced brokers out; a newer broker may list them, marked.
            return {broker["broker_id"] for broker in brokers if not broker.get("is_fenced")}
        finally:
            admin.close()


# Settings for a 3-node cluster that tolerates the loss of one node: every write (acks=all)
# is on 2 disks before it is acknowledged, and the internal topics are replicated likewise.
CLUSTER_PROPERTIES = {
    "default.replication.factor": "3",
    "min.insync.replicas": "2",
    "offsets.topic.replication.factor": "3",
    "transaction.state.log.replication.factor": "3",
    "transaction.state.log.min.isr": "2",
    "num.partitions": "3",
    # A dead broker is fenced (dropped from every ISR, its partitions get new leaders) when its
    # session expires: 3 s instead of 9 s keeps producers stalled only briefly after a kill.
    "broker.heartbeat.interval.ms": "500",
    "broker.session.timeout.ms": "3000",
}


class KafkaNode(KafkaService):
    """One combined broker+controller of a KafkaCluster: KafkaService with its own node id, the
    cluster's quorum voters and shared cluster id."""

    def __init__(self, base_dir, *, node_id: int, voters: str, cluster_id: str, **kwargs):
        super().__init__(base_dir, **kwargs)
        self.node_id = node_id
        self.name = f"kafka-{node_id}"
        self.voters = voters
        self.cluster_id = cluster_id

    def _properties(self) -> dict[str, str]:
        return {**super()._properties(), "node.id": str(self.node_id), "controller.quorum.voters": self.voters}

    def _ready(self) -> bool:
        # Registered and unfenced: this needs a controller quorum, so 2 of the 3 nodes.
        return port_open(self.port) and self.node_id in self.registered_brokers()


class KafkaCluster(ServiceGroup):
    """``brokers`` Kafka 3.9 KRaft nodes on 127.0.0.1, each a combined broker+controller, the
    nodes together forming the controller quorum (3 voters survive the loss of any one node).

    Node ids run from 1. ``bootstrap_servers`` lists every node not destroyed.
    """

    def __init__(self, base_dir, *, brokers: int = 3, heap: str = "256m", extra_properties: dict | None = None,
                 startup_timeout: float = 120, stop_timeout: float = 30):
        ports = {node_id: (free_port(), free_port()) for node_id in range(1, brokers + 1)}
        voters = ",".join(f"{node_id}@127.0.0.1:{controller}" for node_id, (_, controller) in ports.items())
        self.cluster_id = random_cluster_id()
        properties = {**CLUSTER_PROPERTIES, **(extra_properties or {})}
        super().__init__({
            node_id: KafkaNode(base_dir, node_id=node_id, voters=voters, cluster_id=self.cluster_id, port=port,
                               controller_port=controller, heap=heap, extra_properties=properties,
                               startup_timeout=startup_timeout, stop_timeout=stop_timeout)
            for node_id, (port, controller) in ports.items()})
        self.nodes: dict[int, KafkaNode] = self.members
        self.startup_timeout = startup_timeout
        self.destroyed: set[int] = set()

    @property
    def bootstrap_servers(self) -> str:
        return ",".join(f"127.0.0.1:{node.port}" for node in self.in_service())

    @property
    def live_node_ids(self) -> set[int]:
        return {node_id for node_id, node in self.nodes.items() if node.running}

    def in_service(self) -> list[KafkaNode]:
        return [node for node_id, node in self.nodes.items() if node_id not in self.destroyed]

    def _settle(self) -> None:
        self.wait_ready()  # every broker also sees all the others

    def wait_ready(self, timeout: float | None = None) -> "KafkaCluster":
        """Wait until every live broker lists exactly the live brokers as registered (so a node
        just killed has been fenced, and one just restarted is back)."""
        live = self.live_node_ids
        logs = [path for node in self.nodes.values() for path in node._log_files()]
        wait_until(lambda: all(self.nodes[i].registered_brokers() == live for i in live),
                   timeout=self.startup_timeout if timeout is None else timeout,
                   what=f"Kafka cluster: brokers {sorted(live)} not all registered", logs=logs, interval=0.5)
        return self

    def destroy(self, node_id: int) -> None:
        """SIGKILL one node and delete its data dir for good: the node never comes back (a voter
        that lost its log must not vote again in a static quorum), the others go on."""
        node = self.nodes[node_id]
        node.kill()
        shutil.rmtree(node.data_dir, ignore_errors=True)
        self.destroyed.add(node_id)

    def restart(self, node_id: int) -> None:
        """Stop (if running) and start one node on its ports and data; waits until every live
        broker is registered again."""
        if node_id in self.destroyed:
            raise RuntimeError(f"Kafka node {node_id} was destroyed and cannot be restarted")
        super().restart(node_id)
        self.wait_ready()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["fetch"]:
        lib = fetch_jars(quiet=True)
        print(f"Kafka {KAFKA_VERSION} jars: {lib} ({len(list(lib.glob('*.jar')))} jars)")
        return 0
    print("usage: python -m devservices.kafka fetch", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
