"""ClickHouse (Debian's clickhouse-server package, 18.16) on 127.0.0.1, data in a temp dir: one
server (ClickHouseService) or a cluster of shards (ClickHouseCluster)."""
from __future__ import annotations

import os
import re
import shutil
import urllib.request
from pathlib import Path
from xml.sax.saxutils import escape

from devservices._process import Service, ServiceGroup, free_port

CONFIG_XML = """\
<?xml version="1.0"?>
<yandex>
  <logger>
    <level>warning</level>
    <log>{root}/log/server.log</log>
    <errorlog>{root}/log/error.log</errorlog>
    <console>0</console>
  </logger>
  <tcp_port>{tcp_port}</tcp_port>
  <http_port>{http_port}</http_port>
  <listen_host>127.0.0.1</listen_host>
  <path>{root}/data/</path>
  <tmp_path>{root}/tmp/</tmp_path>
  <user_files_path>{root}/user_files/</user_files_path>
  <format_schema_path>{root}/format_schemas/</format_schema_path>
  <mark_cache_size>536870912</mark_cache_size>
  <users_config>users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mlock_executable>false</mlock_executable>
  <!-- no interserver_http_port: single server, and 18.16 opens it only when configured -->
</yandex>
"""

USERS_XML = """\
<?xml version="1.0"?>
<yandex>
  <profiles>
    <default>
      <max_memory_usage>4000000000</max_memory_usage>
    </default>
  </profiles>
  <users>
    <default>
      <password></password>
      <networks>
        <ip>127.0.0.1</ip>
        <ip>::1</ip>
      </networks>
      <profile>default</profile>
      <quota>default</quota>
    </default>
  </users>
  <quotas>
    <default>
      <interval>
        <duration>3600</duration>
        <queries>0</queries>
        <errors>0</errors>
        <result_rows>0</result_rows>
        <read_rows>0</read_rows>
        <execution_time>0</execution_time>
      </interval>
    </default>
  </quotas>
</yandex>
"""


def server_binary() -> str:
    for candidate in (os.environ.get("CLICKHOUSE_SERVER"), shutil.which("clickhouse-server"),
                      "/usr/sbin/clickhouse-server", "/usr/bin/clickhouse-server"):
        if candidate and Path(candidate).is_file():
            return candidate
    raise RuntimeError("clickhouse-server is not installed (apt-get install clickhouse-server; "
                       "scripts/bootstrap.sh does it)")


class ClickHouseService(Service):
    """ClickHouse on 127.0.0.1: native protocol on ``port``, HTTP on ``http_port``, user 'default'
    without password. Use ``client.execute('INSERT INTO t (cols) VALUES', rows)`` with
    clickhouse-driver: VALUES inlined in the query text hang against 18.16."""

    name = "clickhouse"

    def __init__(self, base_dir, *, port: int | None = None, http_port: int | None = None,
                 startup_timeout: float = 60, stop_timeout: float = 30):
        super().__init__(base_dir, startup_timeout=startup_timeout, stop_timeout=stop_timeout)
        self._port = port
        self._http_port = http_port

    host = "127.0.0.1"

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("ClickHouseService has not been started")
        return self._port

    @property
    def http_port(self) -> int:
        if self._http_port is None:
            raise RuntimeError("ClickHouseService has not been started")
        return self._http_port

    @property
    def url(self) -> str:
        return self.url_for("default")

    def url_for(self, database: str) -> str:
        """The clickhouse:// URL for another database (e.g. the app's 'liveboard')."""
        return f"clickhouse://{self.host}:{self.port}/{database}"

    @property
    def http_url(self) -> str:
        return f"http://{self.host}:{self.http_port}/"

    # -- Service hooks ---------------------------------------------------------------------
    def _prepare(self) -> None:
        self._binary = server_binary()
        self._port = self._port or free_port()
        self._http_port = self._http_port or free_port()
        root = self._root
        for sub in ("data", "tmp", "user_files", "format_schemas", "log"):
            (root / sub).mkdir(exist_ok=True)
        (root / "config.xml").write_text(CONFIG_XML.format(root=escape(str(root)), tcp_port=self._port,
                                                           http_port=self._http_port))
        (root / "users.xml").write_text(USERS_XML)

    def _command(self) -> list[str]:
        return [self._binary, f"--config-file={self._root / 'config.xml'}"]

    def _log_files(self) -> list[Path]:
        return [self.log_path, self._root / "log" / "error.log"]

    def _ready(self) -> bool:
        # An HTTP ping, never a bare connect+close on the native port (the server logs an error).
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy
        with opener.open(f"{self.http_url}ping", timeout=2) as resp:
            return resp.status == 200 and resp.read().strip() == b"Ok."


CLUSTER_XML = """\
<?xml version="1.0"?>
<yandex>
  <remote_servers>
    <{cluster}>
{shards}
    </{cluster}>
  </remote_servers>
  <macros>
    <shard>{shard}</shard>
    <replica>1</replica>
  </macros>
</yandex>
"""

SHARD_XML = """\
      <shard>
        <replica><host>127.0.0.1</host><port>{port}</port></replica>
      </shard>"""


class ClickHouseShard(ClickHouseService):
    """One server of a ClickHouseCluster: the single-server set-up plus, in config.d/ (merged
    into config.xml by the server), the cluster's remote_servers entry and its shard macro."""

    def __init__(self, base_dir, *, shard: int, cluster_xml: str, **kwargs):
        super().__init__(base_dir, **kwargs)
        self.number = shard
        self.name = f"clickhouse-shard{shard}"
        self._cluster_xml = cluster_xml

    def _prepare(self) -> None:
        super()._prepare()
        (self._root / "config.d").mkdir(exist_ok=True)
        (self._root / "config.d" / "cluster.xml").write_text(self._cluster_xml)


class ClickHouseCluster(ServiceGroup):
    """``shards`` ClickHouse servers on 127.0.0.1 that each know the cluster ``cluster_name``:
    one shard per server, one replica per shard, so a Distributed table works on any of them.

    Shards are numbered from 1, as in the ``{shard}`` macro and system.clusters. 18.16 runs
    ``ON CLUSTER`` DDL only with ZooKeeper, which this harness has not: ``execute_on_all()``
    runs a statement on every shard instead (see docs/devservices.md).
    """

    def __init__(self, base_dir, *, shards: int = 2, cluster_name: str = "liveboard",
                 startup_timeout: float = 60, stop_timeout: float = 30):
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", cluster_name):  # an XML tag and a SQL identifier
            raise ValueError(f"cluster name {cluster_name!r} is not an identifier")
        self.cluster_name = cluster_name
        ports = {number: (free_port(), free_port()) for number in range(1, shards + 1)}
        shard_xml = "\n".join(SHARD_XML.format(port=port) for port, _ in ports.values())
        super().__init__({
            number: ClickHouseShard(base_dir, shard=number, port=port, http_port=http_port,
                                    cluster_xml=CLUSTER_XML.format(cluster=cluster_name, shards=shard_xml,
                                                                   shard=number),
                                    startup_timeout=startup_timeout, stop_timeout=stop_timeout)
            for number, (port, http_port) in ports.items()})

    def shard(self, i: int) -> ClickHouseShard:
        return self.members[i]

    @property
    def shards(self) -> list[ClickHouseShard]:
        return list(self.members.values())

    def url(self, i: int, database: str = "default") -> str:
        """clickhouse:// URL of shard ``i`` (from 1)."""
        return self.shard(i).url_for(database)

    def execute_on_all(self, query: str, params=None, **kwargs) -> list:
        """Run one statement on every shard in turn (clickhouse-driver); the results, by shard."""
        from clickhouse_driver import Client  # imported lazily

        results = []
        for server in self.shards:
            client = Client(server.host, port=server.port, connect_timeout=5, send_receive_timeout=60)
            try:
                results.append(client.execute(query, params, **kwargs))
            finally:
                client.disconnect()
        return results
