-- Raw events, one row per event_id. ReplacingMergeTree drops a repeated event_id at merge time;
-- until then readers must not double count: raw reads use GROUP BY event_id or FINAL, and the
-- writer (consumers/) never inserts an id that is already stored. The writer looks ids up
-- by primary key for every batch; 1024-row granules keep that lookup to ~1k keys read per id
-- (8192 would read 8x more) for a primary index of ~100k marks at 100M rows.
CREATE TABLE IF NOT EXISTS {db}.sales_events
(
    event_id      String,
    type          String,
    occurred_at   DateTime('UTC'),
    received_at   DateTime('UTC'),
    source        String,
    platform      String,
    campaign      String,
    host          String,
    enterprise    String,
    order_id      String,
    refund_id     String,
    live_id       String,
    sku           String,
    product_name  String,
    category      String,
    county        String,
    buyer         String,
    quantity      Int64,
    amount_fen    Int64,
    peak_viewers  UInt64,
    total_viewers UInt64,
    raw           String
)
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(occurred_at)
ORDER BY event_id
SETTINGS index_granularity = 1024;

-- Pre-aggregate by campaign, Shanghai day and participant (plus the report dimensions), so
-- rankings never scan raw events. A refund lands on the day it happened, correcting that day
-- and every total that includes it.
CREATE TABLE IF NOT EXISTS {db}.sales_daily
(
    campaign      String,
    day           Date,
    host          String,
    enterprise    String,
    platform      String,
    county        String,
    category      String,
    paid_fen      Int64,
    refunded_fen  Int64,
    order_count   Int64,
    refund_count  Int64,
    units         Int64,
    -- uniqHLL12: a fixed ~2.5 KB state, exact up to 16 buyers; plain uniq keeps up to 65,536
    -- hashes per row, and merging those states dominated the ranking job at 100M events
    buyers        AggregateFunction(uniqHLL12, String),
    last_event_at AggregateFunction(max, DateTime('UTC'))
)
ENGINE = SummingMergeTree()
PARTITION BY toYYYYMM(day)
ORDER BY (campaign, day, host, enterprise, platform, county, category);

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.sales_daily_mv TO {db}.sales_daily AS
SELECT
    campaign,
    toDate(occurred_at, 'Asia/Shanghai') AS day,
    host,
    enterprise,
    platform,
    county,
    category,
    sumIf(amount_fen, type = 'order.paid') AS paid_fen,
    sumIf(amount_fen, type = 'order.refunded') AS refunded_fen,
    toInt64(countIf(type = 'order.paid')) AS order_count,
    toInt64(countIf(type = 'order.refunded')) AS refund_count,
    sumIf(quantity, type = 'order.paid') - sumIf(quantity, type = 'order.refunded') AS units,
    uniqHLL12StateIf(buyer, type = 'order.paid' AND buyer != '') AS buyers,
    maxState(occurred_at) AS last_event_at
FROM {db}.sales_events
WHERE type IN ('order.paid', 'order.refunded')
GROUP BY campaign, day, host, enterprise, platform, county, category;
