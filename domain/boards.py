"""What the product's boards are, named once.

Participant boards rank hosts (主播/达人) or enterprises (企业); report dimensions break the same
sales down by county, product category or platform. Every board shows its top ten.
"""
from __future__ import annotations

BOARDS = ("hosts", "enterprises")
BOARD_NAMES_ZH = {"hosts": "主播", "enterprises": "企业"}
BOARD_TITLES_ZH = {"hosts": "十大电商达人", "enterprises": "十佳电商企业"}
TOP_N = 10

DIMENSIONS = ("county", "category", "platform")
DIMENSION_NAMES_ZH = {"county": "县市", "category": "品类", "platform": "平台"}

# The event contract's platform values (schemas/events/v1/sales-event.schema.json) and their names.
PLATFORM_NAMES_ZH = {"douyin": "抖音", "kuaishou": "快手", "taobao": "淘宝直播", "jd": "京东", "pinduoduo": "拼多多",
                     "wechat_channels": "视频号", "mango": "芒果TV", "youzan": "有赞", "other": "其他平台"}
PLATFORMS = tuple(PLATFORM_NAMES_ZH)
