"""A ClickHouse server (Debian's clickhouse-server package, 18.16) on 127.0.0.1, data in a temp dir."""
from __future__ import annotations

import os
import shutil
import urllib.request
from pathlib import Path
from xml.sax.saxutils import escape

from devservices._process import Service, free_port

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
