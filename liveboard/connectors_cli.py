"""`liveboard connectors …` (create, list, test, pull) and `liveboard connect` (the connector worker).

Registered on the main group by liveboard/cli.py; the invocation's settings and config store come
from its CliState (`ctx.obj`).
"""
from __future__ import annotations

import json
from datetime import datetime, time, timezone
from pathlib import Path

import click

from domain.periods import SHANGHAI

CREDENTIAL_OPTIONS = ("app_key", "app_secret", "sign_secret", "message_key", "refresh_token", "app_id", "token",
                      "encoding_aes_key", "client_id", "client_secret", "sign_method")
PLATFORM_CONSOLES = {
    "douyin_shop": "抖店开放平台 → 我的应用 → 消息推送 → 推送地址",
    "kuaishou_shop": "快手开放平台 → 应用详情 → 消息服务 → 消息推送地址",
    "wechat_shop": "微信小店后台 → 开发 → 消息推送配置 → URL（安全模式，数据格式 JSON）",
    "youzan": "有赞云控制台 → 应用 → 消息推送配置 → 推送网址",
}


def _runtime(ctx: click.Context):
    from services.runtime import Runtime

    assert ctx.obj.sessions is not None  # opening it migrates the config store first (idempotent)
    return Runtime.build(ctx.obj.settings())


def _beijing(epoch: float | None) -> str:
    return datetime.fromtimestamp(epoch, tz=SHANGHAI).strftime("%Y-%m-%d %H:%M") if epoch else "—"


@click.group("connectors")
def connectors() -> None:
    """平台对接：抖店、快手小店、微信小店、有赞的原生推送与订单接口。"""


def _credential_options(command):
    for name in reversed(CREDENTIAL_OPTIONS):
        command = click.option(f"--{name.replace('_', '-')}", name, default=None,
                               help=f"凭据 {name}（也可写进 --credentials-file）")(command)
    return command


@connectors.command("create")
@click.argument("platform", type=click.Choice(["douyin_shop", "kuaishou_shop", "wechat_shop", "youzan"]))
@click.argument("name")
@click.option("--shop-id", default="", help="店铺编号：抖店 shop_id、快手商家 ID、有赞 kdt_id（微信小店默认用 AppID）")
@click.option("--enterprise", "enterprise_id", required=True, help="该店铺属于哪家已登记的企业（企业编号）")
@click.option("--campaign", "campaigns", multiple=True, required=True, help="计入的活动代码（可重复给出）")
@click.option("--county", required=True, help="县市代码，例如 433127")
@click.option("--api-base-url", default="", help="平台接口地址（默认为平台的正式地址）")
@click.option("--rate-limit", default=10.0, show_default=True, type=float, help="平台接口限流（次/秒）")
@click.option("--credentials-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="凭据 JSON 文件（推荐：密钥不会留在命令历史里）")
@_credential_options
@click.pass_context
def create(ctx: click.Context, platform: str, name: str, shop_id: str, enterprise_id: str, campaigns: tuple[str, ...],
           county: str, api_base_url: str, rate_limit: float, credentials_file: Path | None, **given: str) -> None:
    """Create a connection and print the push URL to paste into the platform's console."""
    from configstore.errors import ConfigError
    from connectors import service

    credentials: dict[str, str] = {}
    if credentials_file is not None:
        try:
            credentials = json.loads(credentials_file.read_text("utf-8"))
        except ValueError:
            raise click.ClickException("凭据文件不是合法的 JSON") from None
        if not isinstance(credentials, dict):
            raise click.ClickException("凭据文件应为 JSON 对象，例如 {\"app_key\": \"…\", \"app_secret\": \"…\"}")
    credentials.update({k: v for k, v in given.items() if v})
    settings = ctx.obj.settings()
    from configstore.secretbox import SecretBox

    try:
        info = service.create(ctx.obj.sessions, SecretBox(settings.with_secret_key().secrets_key), platform=platform,
                              name=name, shop_id=shop_id, enterprise_id=enterprise_id, campaigns=list(campaigns),
                              county=county, credentials=credentials, api_base_url=api_base_url,
                              rate_limit_per_second=rate_limit)
    except ConfigError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"平台连接 {info.name} 已创建（{info.platform_zh}，店铺 {info.shop_id} → 企业 {info.enterprise_id}，"
               f"活动 {'、'.join(info.campaigns)}）。")
    click.echo(f"推送地址：{service.push_url(settings.connector_public_url, info.name)}")
    click.echo(f"请填到：{PLATFORM_CONSOLES[platform]}；然后运行 liveboard connectors test {info.name} 自检。")


@connectors.command("list")
@click.option("--json", "as_json", is_flag=True, help="机器可读的 JSON 输出")
@click.pass_context
def list_(ctx: click.Context, as_json: bool) -> None:
    """Every connection with its status: last push and pull, pending, dead letters, lag, last error."""
    from connectors import service

    runtime = _runtime(ctx)
    try:
        views = service.views(runtime.sessions, runtime.secrets, clock=runtime.clock)
        if as_json:
            click.echo(json.dumps([v.as_dict(runtime.settings.connector_public_url) for v in views],
                                  ensure_ascii=False))
            return
        if not views:
            click.echo("还没有平台连接。用 liveboard connectors create 创建。")
        for v in views:
            s = v.status
            click.echo(f"{v.info.name}（{v.info.platform_zh}，{'启用' if v.info.active else '已停用'}）："
                       f"店铺 {v.info.shop_id} → 企业 {v.info.enterprise_id}；最近推送 {_beijing(s.last_push_at)}，"
                       f"最近补单 {_beijing(s.last_pull_at)}；待处理 {s.pending}，死信 {s.dead}，"
                       f"延迟 {v.lag_seconds:.0f} 秒" + (f"；最近错误：{s.last_error}" if s.last_error else ""))
    finally:
        runtime.close()


def _http_sender(base_url: str):
    import requests

    def send(sample):
        answer = requests.request(sample.method, base_url.rstrip("/") + sample.path, params=sample.query,
                                  headers=sample.headers, data=sample.body, timeout=10)
        return answer.status_code, answer.content

    return send


@connectors.command("test")
@click.argument("name")
@click.option("--url", default=None, help="经由这个地址发送测试推送（例如 https://lb.example.cn）；默认在本进程内走同一个推送接口")
@click.option("--json", "as_json", is_flag=True, help="机器可读的 JSON 输出")
@click.pass_context
def test(ctx: click.Context, name: str, url: str | None, as_json: bool) -> None:
    """Self-test: a token from the platform API, one order listing, a signed sample push through the endpoint."""
    from backend.app import create_app
    from connectors.access import PlatformAccess
    from connectors.selftest import run_self_test

    runtime = _runtime(ctx)
    try:
        access = PlatformAccess(runtime)
        connection = access.directory.get(name)
        if connection is None:
            raise click.ClickException(f"平台连接 {name} 不存在")
        if url:
            send = _http_sender(url)
        else:
            client = create_app(runtime=runtime).test_client()

            def send(sample):
                answer = client.open(sample.path, method=sample.method, headers=sample.headers,
                                     query_string=sample.query, data=sample.body)
                return answer.status_code, answer.get_data()

        result = run_self_test(access, connection, send)
    finally:
        runtime.close()
    if as_json:
        click.echo(json.dumps(result.as_dict(), ensure_ascii=False))
    else:
        for check in result.checks:
            click.echo(f"{'✓' if check.ok else '✗'} {check.name}：{check.detail}")
        click.echo("自检通过" if result.ok else "自检未通过")
    if not result.ok:
        ctx.exit(1)


@connectors.command("pull")
@click.argument("name")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="从这一天（北京时间 0 点）起补拉，用于接入前的历史订单")
@click.pass_context
def pull(ctx: click.Context, name: str, since: datetime | None) -> None:
    """Run the pull backstop for NAME now (the scheduler runs it every LIVEBOARD_CONNECTOR_PULL_INTERVAL_SECONDS)."""
    from connectors.access import PlatformAccess
    from connectors.pull import pull_connection

    runtime = _runtime(ctx)
    try:
        access = PlatformAccess(runtime)
        connection = access.directory.active(name)
        if connection is None:
            raise click.ClickException(f"平台连接 {name} 不存在或已停用")
        start = (datetime.combine(since.date(), time(0), SHANGHAI).astimezone(timezone.utc).timestamp()
                 if since else None)
        report = pull_connection(access, connection, since=start, owner="cli")
    finally:
        runtime.close()
    if report.skipped or report.error:
        raise click.ClickException(report.skipped or report.error)
    click.echo(f"补单完成：{report.windows} 个时间段，平台列出 {report.listed} 条，新加入待处理 {report.enqueued} 条"
               f"（已覆盖到 {_beijing(report.cursor)}）。由 liveboard run / liveboard connect 处理。")


@click.command("connect")
@click.option("--threads", type=int, default=None, help="同时调用平台接口的线程数（默认 LIVEBOARD_CONNECTOR_WORKER_THREADS）")
@click.pass_context
def connect(ctx: click.Context, threads: int | None) -> None:
    """The connector worker: platform pushes -> platform API -> sales events (run several to scale out)."""
    from connectors.worker import ConnectorWorker
    from liveboard.cli import _ensure_topics, _supervise
    from liveboard.supervisor import Supervisor
    from liveboard.wiring import connector_component

    settings = ctx.obj.settings()
    _ensure_topics(settings)
    runtime = _runtime(ctx)
    worker = ConnectorWorker(runtime, threads=threads)
    click.echo(f"平台对接处理器已启动（{worker.threads} 个线程）: {settings.connector_raw_topic} -> {settings.sales_topic}"
               "（每分钟报告一次）")
    try:  # supervised like the writer: a crash is restarted and shows in /healthz and the console
        _supervise(Supervisor(runtime.sessions, clock=runtime.clock, beat_seconds=settings.heartbeat_seconds),
                   connector_component(worker))
    finally:
        runtime.close()
    s = worker.stats
    click.echo(f"已停止：处理完成 {s.completed}，生成事件 {s.events}，重试 {s.retried}，死信 {s.dead}")
