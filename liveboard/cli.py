"""The `liveboard` command. Every sub-command reads LIVEBOARD_* settings; options override them."""
from __future__ import annotations

import json
import signal
import sys
import threading
from pathlib import Path

import click

from liveboard.clihelp import CONTEXT_SETTINGS, ZhGroup
from liveboard.connectors_cli import connect, connectors
from liveboard.log import configure_logging
from settings import Settings


class CliState:
    """What one `liveboard` invocation shares: its settings, and the config store and analytics
    store opened once, on first use."""

    def __init__(self, overrides: dict) -> None:
        self.overrides = overrides
        self._sessions = None
        self._store = None

    def settings(self, **overrides) -> Settings:
        merged = {**self.overrides, **{k: v for k, v in overrides.items() if v is not None}}
        try:
            return Settings.from_env(**merged)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None

    @property
    def sessions(self):
        """The config store, migrated to the latest schema (idempotent)."""
        if self._sessions is None:
            from configstore.db import make_engine, make_sessionmaker
            from configstore.migrate import upgrade
            from operations.migrations import seal_secrets

            settings = self.settings()
            settings.secure_data_dir()
            upgrade(settings.config_db_url)
            seal_secrets(settings)
            self._sessions = make_sessionmaker(make_engine(settings.config_db_url))
        return self._sessions

    @property
    def secrets(self):
        """Seals the secrets this command stores (the deployment's LIVEBOARD_SECRETS_KEY)."""
        from configstore.secretbox import SecretBox

        return SecretBox(self.settings().with_secret_key().secrets_key)

    @property
    def store(self):
        if self._store is None:
            from analytics import open_store

            self._store = open_store(self.settings())
        return self._store


def _state(ctx: click.Context) -> CliState:
    state = ctx.find_object(CliState)
    assert state is not None, "the liveboard group sets it"
    return state


def _settings(ctx: click.Context, **overrides) -> Settings:
    return _state(ctx).settings(**overrides)


def _echo(msg: str) -> None:
    click.echo(msg)


def _ensure_topics(settings: Settings) -> None:
    """The sales and dead-letter topics exist before anything produces or consumes (idempotent)."""
    from eventlog import EventLogUnavailable, open_event_log

    event_log = open_event_log(settings, client_id="liveboard-topics")
    try:
        event_log.ensure_topics()
    except EventLogUnavailable as exc:
        raise click.ClickException(f"事件日志不可用，无法创建主题：{exc}") from None
    finally:
        event_log.close()


class _Commands(ZhGroup):
    """Store failures end a command with one line in Chinese, not a traceback."""

    def invoke(self, ctx: click.Context):
        from analytics.base import StoreError

        try:
            return super().invoke(ctx)
        except StoreError as exc:
            message = str(exc)
            raise click.ClickException(message if message.startswith("分析库") else f"分析库不可用：{message}") from None


@click.group(cls=_Commands, context_settings=CONTEXT_SETTINGS)
@click.option("--data-dir", type=click.Path(path_type=Path), help="数据目录（默认 ./data）")
@click.option("-v", "--verbose", is_flag=True, help="详细日志")
@click.pass_context
def main(ctx: click.Context, data_dir: Path | None, verbose: bool) -> None:
    """Liveboard: 直播带货活动排行榜与奖项系统。"""
    configure_logging(verbose)
    ctx.obj = CliState({"data_dir": data_dir} if data_dir else {})
    from configstore.audit import acting_as

    # config changes made from the shell are audited as the OS user (server threads set their own actor)
    ctx.with_resource(acting_as(_cli_actor()))


@main.command()
@click.pass_context
def migrate(ctx: click.Context) -> None:
    """升级配置库（Alembic）和分析库（ClickHouse）的结构，并创建消息主题；可重复执行。"""
    from operations.migrations import migrate_all

    migrate_all(_settings(ctx), echo=_echo)
    click.echo("迁移完成")


def _make_server(runtime, host: str, port: int):
    """The embedded default's HTTP server: waitress, in this process (backend/wsgi_server.py)."""
    from backend.app import create_app
    from backend.wsgi_server import EmbeddedServer

    try:
        return EmbeddedServer(create_app(runtime=runtime), host, port,
                              max_body_bytes=runtime.settings.webhook_max_body_bytes + 64 * 1024)
    except OSError as exc:
        raise click.ClickException(f"无法监听 {host}:{port}（{exc.strerror}）；请用 --port 换一个端口") from None


def _serve_forever(server, host: str, port: int) -> None:
    def _stop(*_args):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    click.echo(f"排行榜页面: http://{host}:{port}/   API: http://{host}:{port}/v1/   (Ctrl-C 退出)")
    server.serve_forever()


@main.command()
@click.option("--port", default=8000, show_default=True, type=int, help="监听端口")
@click.option("--host", default="127.0.0.1", show_default=True, help="监听地址")
@click.option("--data-dir", type=click.Path(path_type=Path), help="数据目录（默认 ./data）")
@click.pass_context
def run(ctx: click.Context, port: int, host: str, data_dir: Path | None) -> None:
    """单进程运行接口、写入进程和定时任务（默认内嵌模式：SQLite 日志 + chDB）。"""
    from liveboard.wiring import BackgroundWorkers
    from operations.migrations import migrate_all
    from services.runtime import Runtime

    settings = _settings(ctx, data_dir=data_dir)
    migrate_all(settings, echo=_echo)
    runtime = Runtime.build(settings)
    server = _make_server(runtime, host, port)
    workers = BackgroundWorkers(runtime).start()
    try:
        _serve_forever(server, host, port)
    finally:
        workers.shutdown()


@main.command()
@click.option("--port", default=8000, show_default=True, type=int, help="监听端口")
@click.option("--host", default="127.0.0.1", show_default=True, help="监听地址")
@click.option("--data-dir", type=click.Path(path_type=Path), help="数据目录（默认 ./data）")
@click.option("--orders", default=20000, show_default=True, type=int, help="演示订单数")
@click.option("--exit", "exit_after", is_flag=True, help="打印榜单后退出（不保留页面）")
@click.pass_context
def demo(ctx: click.Context, port: int, host: str, data_dir: Path | None, orders: int, exit_after: bool) -> None:
    """演示：登记千村千红·湘西香伴的主播和企业，通过签名 Webhook 推送订单，打印两张十强榜，并保持页面运行。"""
    from liveboard import demo as demo_mod
    from liveboard.wiring import BackgroundWorkers
    from operations.migrations import migrate_all
    from services.runtime import Runtime

    settings = _settings(ctx, data_dir=data_dir)
    migrate_all(settings, echo=_echo)
    runtime = Runtime.build(settings)
    server = _make_server(runtime, host, port)
    threading.Thread(target=server.serve_forever, name="http", daemon=True).start()
    workers = BackgroundWorkers(runtime).start()
    try:
        seeded = demo_mod.seed_and_post(settings, f"http://{host}:{port}", orders)
        demo_mod.wait_caught_up(settings, seeded["sessions"], seeded["unique_events"])
        demo_mod.print_tables(seeded["sessions"])
        click.echo(f"\n活动净成交额（独立计算）：{demo_mod.yuan(seeded['expected_net_fen'])} 元")
        if exit_after:
            server.shutdown()
            return
        username, password = demo_mod.console_login(settings, seeded["sessions"])
        base = f"http://{host}:{port}"
        click.echo(f"\n排行榜页面: {base}/boards/{demo_mod.CAMPAIGN_SLUG}")
        click.echo(f"大屏模式:   {base}/boards/{demo_mod.CAMPAIGN_SLUG}?screen=1")
        click.echo(f"管理控制台: {base}/console   用户名 {username}  密码 {password}")
        click.echo("(Ctrl-C 退出)")
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        stop.wait()
        server.shutdown()
    finally:
        workers.shutdown()


@main.command()
@click.option("--port", default=8000, show_default=True, type=int, help="监听端口")
@click.option("--host", default="127.0.0.1", show_default=True, help="监听地址")
@click.option("--workers", default=2, show_default=True, type=int, help="gunicorn 工作进程数")
@click.option("--threads", default=8, show_default=True, type=int, help="每个工作进程的线程数")
@click.pass_context
def serve(ctx: click.Context, port: int, host: str, workers: int, threads: int) -> None:
    """以 gunicorn（gthread 工作进程）运行 HTTP 接口，用于规模化部署。"""
    from backend.wsgi_server import serve_gunicorn

    settings = _settings(ctx)
    _ensure_topics(settings)
    serve_gunicorn(settings, host=host, port=port, workers=workers, threads=threads)


@main.command()
@click.option("--exit-when-idle", type=float, default=None,
              help="连续这么多秒没有新消息就退出（用于补数据、批处理）")
@click.option("--processes", type=int, default=1, show_default=True,
              help="写入器进程数（建议每个 CPU 核一个；父进程启动并看护它们）")
@click.pass_context
def consume(ctx: click.Context, exit_when_idle: float | None, processes: int) -> None:
    """销售写入进程：事件日志 → 分析库（分区多时可多开，或用 --processes 在一条命令里启动多个）。"""
    import time

    from liveboard.wiring import build_writer

    settings = _settings(ctx)
    _ensure_topics(settings)
    if processes > 1:
        _consume_in_processes(ctx, processes, exit_when_idle)
        return
    writer = build_writer(settings, sessions=_state(ctx).sessions)
    if exit_when_idle is not None:  # a one-off run (back-fills, batch jobs): no supervision
        stop = threading.Event()
        idle_since = time.monotonic()
        while not stop.is_set() and time.monotonic() - idle_since < exit_when_idle:
            if writer.run_once(stop).consumed or not writer.consumer.is_assigned():
                idle_since = time.monotonic()  # idle means: owning partitions and nothing to read
        writer.close()
        click.echo(f"写入器空闲 {exit_when_idle:g} 秒，退出：已写入 {writer.stats.inserted}，重复 {writer.stats.duplicates}，"
                   f"死信 {writer.stats.dead_lettered}")
        return
    from liveboard.supervisor import Supervisor
    from liveboard.wiring import writer_component

    click.echo(f"写入器已启动: {settings.event_log} -> {settings.store}（每分钟报告一次）")
    _supervise(Supervisor(_state(ctx).sessions, beat_seconds=settings.heartbeat_seconds), writer_component(writer))


def _consume_in_processes(ctx: click.Context, processes: int, exit_when_idle: float | None) -> None:
    """One writer per process, all in the same consumer group (the log's partitions are shared out
    among them): this process starts them, restarts one that dies, and stops them all on SIGTERM."""
    from liveboard.supervisor import ChildProcesses

    if _settings(ctx).store == "chdb":
        raise click.ClickException("chDB 只允许一个进程打开数据目录：嵌入式部署请用一个写入器进程")
    command = [sys.executable, "-m", "liveboard.cli"]
    if ctx.find_root().params.get("data_dir"):
        command += ["--data-dir", str(ctx.find_root().params["data_dir"])]
    command += ["consume", "--processes", "1"]
    if exit_when_idle is not None:
        command += ["--exit-when-idle", str(exit_when_idle)]
    children = ChildProcesses(command, processes, once=exit_when_idle is not None)
    signal.signal(signal.SIGTERM, lambda *_: children.stop.set())
    signal.signal(signal.SIGINT, lambda *_: children.stop.set())
    click.echo(f"写入器 {processes} 个进程已启动（同一消费组，分区在它们之间分配）")
    children.run()
    click.echo(f"写入器进程已全部停止（重启 {children.restarts} 次）")


def _supervise(supervisor, component) -> None:
    """Run one supervised component in the foreground until SIGTERM / Ctrl-C."""
    supervisor.add(component)
    signal.signal(signal.SIGTERM, lambda *_: supervisor.stop.set())
    signal.signal(signal.SIGINT, lambda *_: supervisor.stop.set())
    supervisor.start()
    supervisor.stop.wait()
    supervisor.shutdown()


@main.command()
@click.pass_context
def schedule(ctx: click.Context) -> None:
    """在前台运行定时任务（排行榜、里程碑、消息推送、补单），带守护。可运行两个或更多：一个为主实例（配置库中的租约），主实例退出后其余实例接管。"""
    from liveboard.supervisor import Component, Supervisor
    from scheduler.jobs import Schedule
    from services.runtime import Runtime

    runtime = Runtime.build(_settings(ctx))
    jobs = Schedule(runtime)
    click.echo(f"定时任务已启动（{jobs.holder}；多个实例中只有持有租约的一个执行任务，每分钟报告一次）")
    _supervise(Supervisor(runtime.sessions, clock=runtime.clock, beat_seconds=runtime.settings.heartbeat_seconds),
               Component("scheduler", jobs.run, jobs.figures, Schedule.summary))


@main.command()
@click.pass_context
def rank(ctx: click.Context) -> None:
    """立即计算一次排行榜（发布所有进行中活动的榜单）。"""
    from scheduler.ranking_job import publish_all

    results = publish_all(_state(ctx).sessions, _state(ctx).store)
    for result in results:
        if "error" in result:
            click.echo(f"{result['campaign']}: 排名计算失败：{result['error']}", err=True)
        elif "frozen_views" in result:
            click.echo(f"{result['campaign']}: 已封榜，保存封榜时的公开榜单 {result['frozen_views']} 个")
        else:
            click.echo(f"{result['campaign']}: 更新榜单 {result['changed_boards']} 个，用时 {result['seconds']:.3f}s")
    if not results:
        click.echo("没有进行中的活动")


@main.group()
def sources() -> None:
    """数据来源：Webhook 签名密钥与数据范围。"""


@sources.command("create")
@click.argument("name")
@click.option("--description", default="", help="备注（如对接的平台或店铺）")
@click.option("--platform", "platforms", multiple=True, help="可上报的平台（可重复，如 douyin）；省略为不限")
@click.option("--campaign", "campaigns", multiple=True, help="只能上报这些活动（可重复）；省略为不限")
@click.option("--enterprise", "enterprises", multiple=True, help="只能代这些企业上报（可重复）；省略为不限")
@click.pass_context
def sources_create(ctx: click.Context, name: str, description: str, platforms: tuple[str, ...],
                   campaigns: tuple[str, ...], enterprises: tuple[str, ...]) -> None:
    """创建数据来源并限定它可上报的范围，打印签名密钥（只显示这一次）。"""
    from configstore.sources import SourceError, create_source

    try:
        secret = create_source(_state(ctx).sessions, name, description, box=_state(ctx).secrets,
                               platforms=list(platforms) or None, campaigns=list(campaigns) or None,
                               enterprises=list(enterprises) or None)
    except SourceError as exc:
        raise click.ClickException(str(exc)) from None
    scope = "、".join(platforms) if platforms else "所有平台（建议用 --platform 限定）"
    click.echo(f"来源 {name} 已创建，可上报：{scope}"
               + (f"；活动 {'、'.join(campaigns)}" if campaigns else "")
               + (f"；企业 {'、'.join(enterprises)}" if enterprises else "")
               + "。签名密钥只显示这一次，请妥善保存：", err=True)
    click.echo(secret)


@sources.command("rotate")
@click.argument("name")
@click.pass_context
def sources_rotate(ctx: click.Context, name: str) -> None:
    """为数据来源新增签名密钥（旧密钥在下次轮换前仍然有效）。"""
    from configstore.sources import SourceError, rotate_secret

    try:
        secret = rotate_secret(_state(ctx).sessions, name, box=_state(ctx).secrets)
    except SourceError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo("新密钥（只显示这一次）：", err=True)
    click.echo(secret)


@sources.command("revoke")
@click.argument("name")
@click.pass_context
def sources_revoke(ctx: click.Context, name: str) -> None:
    """吊销数据来源：此后它的推送一律返回 401。"""
    from configstore.sources import SourceError, revoke_source

    try:
        revoke_source(_state(ctx).sessions, name)
    except SourceError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"来源 {name} 已吊销")


@main.group()
def admin() -> None:
    """组织者账号：控制台用户与 API 令牌。"""


def _cli_actor() -> str:
    import getpass

    return f"cli:{getpass.getuser()}"


@admin.command("create")
@click.option("--username", required=True, help="用户名")
@click.option("--role", default="admin", show_default=True, type=click.Choice(["admin", "operator", "viewer"]))
@click.pass_context
def admin_create(ctx: click.Context, username: str, role: str) -> None:
    """创建控制台用户（第一个管理员也用它）；密码取自 LIVEBOARD_ADMIN_PASSWORD，未设置时提示输入。"""
    import os

    from configstore.accounts import create_user
    from configstore.errors import ConfigError

    password = os.environ.get("LIVEBOARD_ADMIN_PASSWORD") or click.prompt(
        "密码（至少 10 个字符）", hide_input=True, confirmation_prompt="再输入一次")
    try:
        user = create_user(_state(ctx).sessions, username, password, role)
    except ConfigError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"用户 {user.username} 已创建（角色 {user.role}）。登录控制台：/console/login")


@admin.command("token")
@click.option("--username", required=True, help="令牌属于哪个用户")
@click.option("--name", required=True, help="令牌用途，例如 每日导出脚本")
@click.pass_context
def admin_token(ctx: click.Context, username: str, name: str) -> None:
    """创建 /v1/admin 接口的 API 令牌并打印（只显示这一次）。"""
    from configstore.accounts import create_token
    from configstore.errors import ConfigError

    try:
        _, token = create_token(_state(ctx).sessions, username, name)
    except ConfigError as exc:
        raise click.ClickException(exc.message) from None
    click.echo("API 令牌只显示这一次，请妥善保存：", err=True)
    click.echo(token)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="机器可读的 JSON 输出")
@click.option("--rows", "with_rows", is_flag=True, help="也统计原始表的物理行数（合并前的重复也计入）")
@click.pass_context
def stats(ctx: click.Context, as_json: bool, with_rows: bool) -> None:
    """按活动对比原始事件与预聚合的合计，二者必须精确到分一致。"""
    import json

    from analytics.reconcile import reconcile

    store = _state(ctx).store
    result = reconcile(store)
    if with_rows:
        result["rows"] = int(store.query("SELECT count() FROM {db}.sales_events")[0][0])
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, sort_keys=True))
        return
    from domain.money import format_yuan

    def yuan(fen: int | None) -> str:
        return "—" if fen is None else format_yuan(fen, suffix=" 元")

    for campaign in sorted(set(result["raw"]) | set(result["aggregate"])):
        raw, agg = result["raw"].get(campaign, {}), result["aggregate"].get(campaign, {})
        click.echo(f"{campaign}：事件 {raw.get('events', 0):,} 条（订单 {raw.get('paid_orders', 0):,}，"
                   f"退款 {raw.get('refunds', 0):,}）；净成交额 {yuan(raw.get('net_gmv_fen'))}（原始事件），"
                   f"{yuan(agg.get('net_gmv_fen'))}（预聚合）")
    if not result["raw"] and not result["aggregate"]:
        click.echo("分析库中还没有销售事件")
    click.echo("原始事件与预聚合一致（精确到分）" if result["matches"] else "不一致！请检查写入器日志")
    if not result["matches"]:
        ctx.exit(1)


@main.group()
def hosts() -> None:
    """主播：小程序绑定。"""


@hosts.command("bind-code")
@click.argument("host_id")
@click.option("--png", "png_path", type=click.Path(dir_okay=False, path_type=Path),
              help="同时生成小程序码图片（需要配置微信）并保存到此文件")
@click.pass_context
def hosts_bind_code(ctx: click.Context, host_id: str, png_path: Path | None) -> None:
    """为主播 HOST_ID 生成一次性绑定码并打印（之前未使用的绑定码随即失效）。"""
    from wechat.binding import UnknownHost, issue_bind_code, wxa_code_png

    settings = _settings(ctx)
    sessions = _state(ctx).sessions
    try:
        issued = issue_bind_code(sessions, host_id, ttl_seconds=settings.mp_bind_code_ttl_seconds,
                                 pepper=settings.with_secret_key().secret_key)
    except UnknownHost:
        raise click.ClickException(f"主播 {host_id} 不存在") from None
    click.echo(f"主播 {host_id} 的绑定码（{issued.expires_at:%Y-%m-%d %H:%M} UTC 前有效，仅可使用一次）：", err=True)
    click.echo(issued.display)
    if png_path is not None:
        from wechat.errors import WeChatError
        from wechat.service import build_client

        client = build_client(settings, sessions)
        if client is None:
            raise click.ClickException("未配置微信（LIVEBOARD_WECHAT_APPID / LIVEBOARD_WECHAT_SECRET），无法生成小程序码")
        try:
            png_path.write_bytes(wxa_code_png(client, issued))
        except WeChatError as exc:
            raise click.ClickException(f"小程序码生成失败（{exc.errcode}），绑定码仍然有效") from None
        click.echo(f"小程序码已保存到 {png_path}", err=True)


@hosts.command("unbind")
@click.argument("host_id")
@click.pass_context
def hosts_unbind(ctx: click.Context, host_id: str) -> None:
    """解除主播 HOST_ID 与微信用户的绑定。"""
    from wechat.binding import unbind_host

    removed = unbind_host(_state(ctx).sessions, host_id)
    click.echo(f"主播 {host_id} 已解除绑定" if removed else f"主播 {host_id} 没有绑定微信用户")


@main.group()
def push() -> None:
    """小程序订阅消息推送。"""


@push.command("deliver")
@click.pass_context
def push_deliver(ctx: click.Context) -> None:
    """把已记录的名次变化转为待发消息，并立即发送一次到期的消息。"""
    from domain.clock import SYSTEM_CLOCK
    from scheduler.push_job import deliver, enqueue_rank_pushes
    from wechat.pushes import PushTemplates
    from wechat.service import build_client

    settings = _settings(ctx)
    sessions = _state(ctx).sessions
    client = build_client(settings, sessions)
    if client is None:
        raise click.ClickException("未配置微信（LIVEBOARD_WECHAT_APPID / LIVEBOARD_WECHAT_SECRET）")
    counts = enqueue_rank_pushes(sessions, PushTemplates.from_settings(settings), SYSTEM_CLOCK.now())
    report = deliver(sessions, client, settings, SYSTEM_CLOCK.now())
    click.echo(f"排名变化 {counts['changes']} 条，新消息 {counts['enqueued']} 条；已发送 {report.sent}，"
               f"无订阅 {report.no_credit}，重试 {report.retried}，失败 {report.failed}")


@main.group("import")
def import_group() -> None:
    """从表格导入数据。"""


@import_group.command("participants")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_context
def import_participants_cmd(ctx: click.Context, file: Path) -> None:
    """从 FILE.csv 或 FILE.xlsx 导入主播和企业；有问题的行逐行报告，其余行照常导入。"""
    from configstore.participants_import import import_participants, read_rows

    try:
        rows = read_rows(file)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    report = import_participants(_state(ctx).sessions, rows)
    for error in report.errors:
        click.echo(f"第 {error.row} 行 [{error.field}]：{error.message}", err=True)
    click.echo(f"已导入主播 {report.hosts} 名、企业 {report.enterprises} 家；有问题的行 {report.bad_rows} 行")
    if report.bad_rows:
        ctx.exit(1)


@import_group.command("targets")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--year", required=True, type=click.IntRange(1900, 9999), help="目标年度，例如 2026")
@click.pass_context
def import_targets_cmd(ctx: click.Context, file: Path, year: int) -> None:
    """从 FILE.csv 或 FILE.xlsx 导入各区划的年度目标（区划代码、年度目标(元)）。"""
    from configstore.participants_import import read_rows
    from configstore.targets_import import import_targets

    try:
        rows = read_rows(file)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    report = import_targets(_state(ctx).sessions, rows, year)
    for error in report.errors:
        click.echo(f"第 {error.row} 行 [{error.field}]：{error.message}", err=True)
    click.echo(f"已导入 {year} 年度目标 {report.kept} 个区划；有问题的行 {report.bad_rows} 行")
    if report.bad_rows:
        ctx.exit(1)


@main.group()
def awards() -> None:
    """奖项：按数据计算名单，导出名单、证书和目标完成情况。"""


@awards.command("compute")
@click.option("--kind", required=True, type=click.Choice(["top_enterprises", "top_influencers", "sales_milestone",
                                                          "station_rating"]))
@click.option("--scope", default="year", show_default=True, type=click.Choice(["campaign", "year"]))
@click.option("--key", "scope_key", required=True, help="活动代码或四位年份")
@click.option("--min-net-fen", default=0, show_default=True, type=int, help="评选最低净成交额（分）")
@click.option("--min-orders", default=0, show_default=True, type=int, help="评选最低订单数")
@click.option("--policy", default="pay_difference", show_default=True,
              type=click.Choice(["pay_difference", "pay_full_higher_tier"]))
@click.pass_context
def awards_compute(ctx: click.Context, kind: str, scope: str, scope_key: str, min_net_fen: int, min_orders: int,
                   policy: str) -> None:
    """计算一份奖项名单并保存为草稿（已定稿的生成新版本）；输出 JSON。"""
    import json

    from configstore.errors import ConfigError
    from services.awards import compute_and_store

    try:
        result = compute_and_store(_state(ctx).sessions, _state(ctx).store, kind=kind, scope=scope, scope_key=scope_key,
                                   min_net_gmv_fen=min_net_fen, min_order_count=min_orders, policy=policy)
    except ConfigError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(json.dumps(result, ensure_ascii=False))


@awards.command("export")
@click.option("--list-id", type=int, help="名单编号：导出 .xlsx（及 --certificates 证书）")
@click.option("--targets-year", type=int, help="导出该年度的目标完成情况 .xlsx")
@click.option("--out", "out", required=True, type=click.Path(path_type=Path), help="输出 .xlsx 文件")
@click.option("--certificates", "cert_dir", type=click.Path(path_type=Path), help="每位获奖者一份 PDF 证书的目录")
@click.pass_context
def awards_export(ctx: click.Context, list_id: int | None, targets_year: int | None, out: Path,
                  cert_dir: Path | None) -> None:
    """导出名单（.xlsx）、获奖证书（PDF）或年度目标完成情况（.xlsx）。"""
    from configstore import awards as award_store
    from configstore.errors import ConfigError
    from services import certificates, spreadsheets

    if (list_id is None) == (targets_year is None):
        raise click.UsageError("请给出 --list-id 或 --targets-year 之一")
    settings = _settings(ctx)
    sessions = _state(ctx).sessions
    out.parent.mkdir(parents=True, exist_ok=True)
    if targets_year is not None:
        from services.awards import target_progress

        out.write_bytes(spreadsheets.targets_xlsx(target_progress(sessions, _state(ctx).store, year=targets_year)))
        click.echo(f"已导出 {out}")
        return
    assert list_id is not None  # one of the two was given (checked above)
    try:
        award_list = award_store.get_list(sessions, list_id)
    except ConfigError as exc:
        raise click.ClickException(exc.message) from None
    directory = spreadsheets.load_directory(sessions)
    out.write_bytes(spreadsheets.award_list_xlsx(award_list, directory))
    click.echo(f"已导出 {out}")
    if cert_dir is not None:
        cert_dir.mkdir(parents=True, exist_ok=True)
        for item in award_list["items"]:
            if item["included"]:
                path = cert_dir / certificates.certificate_filename(award_list, item).name
                try:
                    path.write_bytes(certificates.certificate_pdf(
                        award_list, item, campaign_name=directory.campaign_name(award_list),
                        organizer=settings.organizer_name, seal_image=settings.seal_image))
                except certificates.CertificateError as exc:
                    raise click.ClickException(f"{item['name']}：{exc}") from None
                click.echo(f"证书 {path}")


# -- backup and restore (docs/backup.md) -----------------------------------------------------

def _run_backup_action(ctx: click.Context, as_json: bool, action) -> None:
    """Progress to stdout (stderr with --json, so stdout is one JSON document); errors as
    `{"error": {code, message, details}}` with --json, else as a Chinese message with the code."""
    from operations.backup import BackupError

    echo = (lambda msg: click.echo(msg, err=True)) if as_json else click.echo
    try:
        result = action(_settings(ctx), echo)
    except BackupError as exc:
        if not as_json:
            raise click.ClickException(f"{exc.message}（{exc.code}）") from None
        click.echo(json.dumps(exc.as_dict(), ensure_ascii=False))
        ctx.exit(1)
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, sort_keys=True))


@main.command()
@click.argument("dest", type=click.Path(file_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="输出备份清单（JSON）")
@click.pass_context
def backup(ctx: click.Context, dest: Path, as_json: bool) -> None:
    """把分析库（原始销售事件）和配置库备份到新目录 DEST，附校验和。"""
    from operations.backup import create_backup

    _run_backup_action(ctx, as_json, lambda settings, echo: create_backup(settings, dest, echo))


@main.command()
@click.argument("src", type=click.Path(file_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="目标已有数据时也恢复：先清空目标，再写入备份")
@click.option("--json", "as_json", is_flag=True, help="机器可读的 JSON 输出")
@click.pass_context
def restore(ctx: click.Context, src: Path, force: bool, as_json: bool) -> None:
    """把备份 SRC 恢复到空的库中（由配置指定），恢复后与备份逐项核对。"""
    from operations.backup import restore_backup

    _run_backup_action(ctx, as_json, lambda settings, echo: restore_backup(settings, src, echo, force=force))


main.add_command(connectors)  # liveboard connectors create|list|test|pull (liveboard/connectors_cli.py)
main.add_command(connect)  # the connector worker


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
