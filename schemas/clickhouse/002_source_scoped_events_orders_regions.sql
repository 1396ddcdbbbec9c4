-- Events are keyed by (source, event_id): one source can never claim or shadow another's ids.
-- Sales are credited below the county (region_code: a 9-digit township or 12-digit village code).
-- Refunds count against their paid order: the writer copies the order's attribution onto the refund
-- row and notes any cap in `adjustment`; `sales_orders` is what it looks orders up in.
-- The old tables are copied over, the pre-aggregate rebuilt from the deduplicated raw events.

CREATE TABLE IF NOT EXISTS {db}.sales_events_v2
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
    raw           String,
    region_code   String,
    -- '' as posted; 'capped:<posted fen>' when a refund was capped at what its order had left
    adjustment    String
)
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (source, event_id)
SETTINGS index_granularity = 1024;

INSERT INTO {db}.sales_events_v2
SELECT event_id, type, occurred_at, received_at, source, platform, campaign, host, enterprise, order_id, refund_id,
       live_id, sku, product_name, category, county, buyer, quantity, amount_fen, peak_viewers, total_viewers, raw,
       '' AS region_code, '' AS adjustment
FROM {db}.sales_events FINAL;

CREATE TABLE IF NOT EXISTS {db}.sales_daily_v2
(
    campaign      String,
    day           Date,
    host          String,
    enterprise    String,
    platform      String,
    county        String,
    region_code   String,
    category      String,
    paid_fen      Int64,
    refunded_fen  Int64,
    order_count   Int64,
    refund_count  Int64,
    units         Int64,
    buyers        AggregateFunction(uniqHLL12, String),
    last_event_at AggregateFunction(max, DateTime('UTC'))
)
ENGINE = SummingMergeTree()
PARTITION BY toYYYYMM(day)
ORDER BY (campaign, day, host, enterprise, platform, county, region_code, category);

INSERT INTO {db}.sales_daily_v2
SELECT
    campaign,
    toDate(occurred_at, 'Asia/Shanghai') AS day,
    host, enterprise, platform, county, region_code, category,
    sumIf(amount_fen, type = 'order.paid') AS paid_fen,
    sumIf(amount_fen, type = 'order.refunded') AS refunded_fen,
    toInt64(countIf(type = 'order.paid')) AS order_count,
    toInt64(countIf(type = 'order.refunded')) AS refund_count,
    sumIf(quantity, type = 'order.paid') - sumIf(quantity, type = 'order.refunded') AS units,
    uniqHLL12StateIf(buyer, type = 'order.paid' AND buyer != '') AS buyers,
    maxState(occurred_at) AS last_event_at
FROM {db}.sales_events_v2 FINAL
WHERE type IN ('order.paid', 'order.refunded')
GROUP BY campaign, day, host, enterprise, platform, county, region_code, category;

-- One row per paid order (plus one per refund of it, summed): the writer's refund look-ups go by
-- (platform, order_id), the primary key. Attribution columns are the order's (refund rows carry
-- the same values), so any() of them is the order's.
CREATE TABLE IF NOT EXISTS {db}.sales_orders
(
    platform      String,
    order_id      String,
    source        String,
    campaign      String,
    host          String,
    enterprise    String,
    county        String,
    region_code   String,
    category      String,
    sku           String,
    product_name  String,
    paid_at       DateTime('UTC'),
    paid_fen      Int64,
    refunded_fen  Int64,
    refund_count  Int64
)
ENGINE = SummingMergeTree((paid_fen, refunded_fen, refund_count))
ORDER BY (platform, order_id);

INSERT INTO {db}.sales_orders
SELECT platform, order_id, source, campaign, host, enterprise, county, region_code, category, sku, product_name,
       occurred_at AS paid_at,
       if(type = 'order.paid', amount_fen, 0) AS paid_fen,
       if(type = 'order.refunded', amount_fen, 0) AS refunded_fen,
       toInt64(type = 'order.refunded') AS refund_count
FROM {db}.sales_events_v2 FINAL
WHERE type IN ('order.paid', 'order.refunded') AND order_id != '';

DROP TABLE IF EXISTS {db}.sales_daily_mv;

RENAME TABLE {db}.sales_events TO {db}.sales_events_v1, {db}.sales_events_v2 TO {db}.sales_events,
             {db}.sales_daily TO {db}.sales_daily_v1, {db}.sales_daily_v2 TO {db}.sales_daily;

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.sales_daily_mv TO {db}.sales_daily AS
SELECT
    campaign,
    toDate(occurred_at, 'Asia/Shanghai') AS day,
    host, enterprise, platform, county, region_code, category,
    sumIf(amount_fen, type = 'order.paid') AS paid_fen,
    sumIf(amount_fen, type = 'order.refunded') AS refunded_fen,
    toInt64(countIf(type = 'order.paid')) AS order_count,
    toInt64(countIf(type = 'order.refunded')) AS refund_count,
    sumIf(quantity, type = 'order.paid') - sumIf(quantity, type = 'order.refunded') AS units,
    uniqHLL12StateIf(buyer, type = 'order.paid' AND buyer != '') AS buyers,
    maxState(occurred_at) AS last_event_at
FROM {db}.sales_events
WHERE type IN ('order.paid', 'order.refunded')
GROUP BY campaign, day, host, enterprise, platform, county, region_code, category;

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.sales_orders_mv TO {db}.sales_orders AS
SELECT platform, order_id, source, campaign, host, enterprise, county, region_code, category, sku, product_name,
       occurred_at AS paid_at,
       if(type = 'order.paid', amount_fen, 0) AS paid_fen,
       if(type = 'order.refunded', amount_fen, 0) AS refunded_fen,
       toInt64(type = 'order.refunded') AS refund_count
FROM {db}.sales_events
WHERE type IN ('order.paid', 'order.refunded') AND order_id != '';

DROP TABLE IF EXISTS {db}.sales_events_v1;

DROP TABLE IF EXISTS {db}.sales_daily_v1;

-- The same (source, event_id) again with different content: not stored as a sale, kept here with
-- both versions for organizers to decide.
CREATE TABLE IF NOT EXISTS {db}.sales_conflicts
(
    source        String,
    event_id      String,
    detected_at   DateTime('UTC'),
    stored_raw    String,
    incoming_raw  String,
    log_topic     String,
    log_partition UInt32,
    log_offset    UInt64
)
ENGINE = ReplacingMergeTree()
ORDER BY (source, event_id, log_topic, log_partition, log_offset);

-- Refunds whose paid order is not stored yet, looked up by the order when it arrives. A later
-- version of the same row (applied = 1) marks it applied; the refund is then a row of sales_events.
CREATE TABLE IF NOT EXISTS {db}.pending_refunds
(
    source        String,
    event_id      String,
    platform      String,
    order_id      String,
    received_at   DateTime('UTC'),
    envelope      String,
    log_topic     String,
    log_partition UInt32,
    log_offset    UInt64,
    applied       UInt8,
    version       UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (platform, order_id, source, event_id);
