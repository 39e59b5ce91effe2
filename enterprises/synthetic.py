"""A synthetic Dongguan (东莞) for demos and load tests.

`CityGenerator` makes, for a seed, N enterprises spread over the 34 towns, streets and parks,
about one natural person per enterprise, a power-law shareholding graph (a few holding companies
with stakes in hundreds of firms, cross-holdings and longer cycles) and ~5 public credit records
per enterprise. `seed_city` writes it in bulk — COPY on PostgreSQL, executemany on SQLite — in one
transaction, streaming chunks of enterprises so that memory stays flat.

Determinism: every choice comes from `random.Random` streams seeded from the seed and consumed in
a fixed order, or from keyed permutations of an index; the chunk size changes nothing. USCCs,
names, resident IDs and trade names are unique by construction (each is a permutation of a
counter), so no set of a million strings is kept. What depends on the database: ids (they follow
the current maximum), Fernet tokens (random IVs), record status (expired relative to today) and
the rare case where a generated USCC or resident ID already exists (the USCC is re-drawn, the
person is taken to be the existing one).
"""

from __future__ import annotations

import bisect
import hashlib
import json
import math
import random
import sys
import time
from array import array
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dt_time
from typing import Any, Generic, Protocol, TypeVar

from enterprises import reference, resident_id
from enterprises.persons import person_id_hash, person_mask
from enterprises.publication import publication_window
from enterprises.records import STORED_COLUMNS, record_content_hash
from enterprises.uscc import CHARSET, check_character, organization_check_character
from xinyidai.core import crypto

T = TypeVar("T")
Row = tuple[Any, ...]

DATA_AS_OF = date(2026, 10, 31)  # fixed, so that a seed gives the same city on any day
EARLIEST_ESTABLISHED = date(1990, 1, 1)
MA_ERA = date(2015, 10, 1)  # codes issued since the USCC reform carry "MA" + 6 characters
SHARE_TOTAL = 1_000_000  # 100.0000 % in units of 0.0001 %
SHAREHOLDING_SOURCE = "市场监管局"
REGION = reference.DONGGUAN_REGION_CODE

COMPANY, INDIVIDUAL, COOPERATIVE = 1, 2, 3  # the USCC entity type under department 9


# ---------------------------------------------------------------------------------------------
# Small deterministic tools
# ---------------------------------------------------------------------------------------------
class Weighted(Generic[T]):
    """Weighted choice by bisection (faster than random.choices for one draw)."""

    def __init__(self, weights: dict[T, float] | Sequence[tuple[T, float]]):
        pairs = list(weights.items()) if isinstance(weights, dict) else list(weights)
        self.items = [item for item, _w in pairs]
        self.cumulative: list[float] = []
        total = 0.0
        for _item, weight in pairs:
            total += weight
            self.cumulative.append(total)
        self.total = total

    def pick(self, rng: random.Random) -> T:
        return self.items[bisect.bisect_right(self.cumulative, rng.random() * self.total)]

    def pick_unit(self, u: float) -> T:
        """The item for a uniform number u in [0, 1)."""
        return self.items[bisect.bisect_right(self.cumulative, u * self.total)]


def _is_prime(n: int) -> bool:
    if n < 2:
        return False
    small = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37)
    for p in small:
        if n % p == 0:
            return n == p
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    for a in small:  # deterministic for n < 3.3e24
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _r in range(s - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


def _next_prime(n: int) -> int:
    while not _is_prime(n):
        n += 1
    return n


class Permutation:
    """A keyed bijection of range(size) that scatters consecutive indexes.

    Two rounds of multiplication modulo a prime just above `size` (cycle-walking back into the
    range) with an offset in between; each step is a bijection, so the whole is one.
    """

    def __init__(self, size: int, rng: random.Random):
        if size < 1:
            raise ValueError("size must be positive")
        self.size = size
        self.prime = _next_prime(size + 1)
        self.factors = [rng.randrange(2, self.prime - 1) if self.prime > 3 else 1 for _i in "ab"]
        self.offsets = [rng.randrange(size) for _i in "ab"]

    def __call__(self, index: int) -> int:
        size, prime = self.size, self.prime
        if not 0 <= index < size:
            raise IndexError(index)
        x = index
        for factor, offset in zip(self.factors, self.offsets, strict=True):
            y = (x + 1) * factor % prime
            while y > size:
                y = y * factor % prime
            x = (y - 1 + offset) % size
        return x


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def _wan(yuan: int) -> str:
    """Yuan as 万元 with up to 4 decimals, as departments report amounts."""
    return f"{yuan / 10000:.4f}".rstrip("0").rstrip(".")


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def _percent(units: int) -> str:
    return f"{units // 10000}.{units % 10000:04d}"


# ---------------------------------------------------------------------------------------------
# Reference data for the city
# ---------------------------------------------------------------------------------------------
# fmt: off
TOWN_WEIGHTS: dict[str, float] = {
    "guancheng": 2.0, "nancheng": 5.0, "dongcheng": 5.0, "wanjiang": 2.5, "shijie": 2.0,
    "shilong": 1.5, "chashan": 1.6, "shipai": 1.5, "qishi": 1.2, "hengli": 1.8, "qiaotou": 1.5,
    "xiegang": 1.0, "dongkeng": 1.3, "changping": 4.5, "liaobu": 3.5, "zhangmutou": 1.5,
    "dalang": 4.5, "huangjiang": 2.2, "qingxi": 2.5, "tangxia": 5.0, "fenggang": 3.5,
    "dalingshan": 3.0, "changan": 6.5, "humen": 6.0, "houjie": 4.5, "shatian": 1.2, "daojiao": 1.2,
    "hongmei": 0.6, "machong": 1.0, "wangniudun": 0.8, "zhongtang": 1.3, "gaobu": 1.3,
    "songshanhu": 3.0, "binhaiwan": 0.8,
}
# Industries a town is known for: a share of its companies is drawn from these divisions.
TOWN_SPECIALTIES: dict[str, tuple[str, ...]] = {
    "dalang": ("17",),  # 毛织
    "humen": ("18", "17"),  # 服装
    "houjie": ("21", "19"),  # 家具, 鞋
    "changan": ("35", "33", "39"),  # 模具, 五金, 电子
    "songshanhu": ("39", "65", "73", "27"),
    "qingxi": ("39", "38"),
    "tangxia": ("39", "33", "24"),
    "fenggang": ("39", "38"),
    "shijie": ("39", "38"),
    "chashan": ("24", "14"),
    "zhongtang": ("22",),
    "machong": ("13", "59"),
    "shatian": ("58", "59"),
    "liaobu": ("39", "29"),
    "dalingshan": ("21", "33"),
    "huangjiang": ("39", "29"),
}
SPECIALTY_SHARE = 0.2

SECTION_WEIGHTS: dict[str, float] = {  # companies only; individual businesses are added below
    "C": 38.0, "F": 15.0, "L": 9.0, "M": 7.0, "I": 4.5, "E": 4.5, "G": 3.5, "K": 1.5, "H": 1.2,
    "O": 1.0, "N": 0.6, "R": 0.6, "A": 0.45, "J": 0.3, "P": 0.3, "Q": 0.3, "D": 0.2, "B": 0.05,
}
DIVISION_WEIGHTS: dict[str, dict[str, float]] = {
    "C": {
        "39": 14, "33": 10, "29": 9, "38": 9, "35": 7, "34": 6, "18": 6, "24": 5, "17": 4,
        "19": 4, "21": 4, "22": 3, "23": 3, "26": 3, "30": 2, "40": 2, "41": 2, "14": 2, "13": 1,
        "15": 1, "20": 1, "32": 1, "36": 1, "42": 1, "43": 1, "27": 0.5, "31": 0.5, "37": 0.5,
        "28": 0.3, "25": 0.2, "16": 0.05,
    },
    "F": {"51": 60, "52": 40},
    "L": {"72": 92, "71": 8},
    "M": {"75": 45, "74": 40, "73": 15},
    "I": {"65": 70, "64": 25, "63": 5},
    "E": {"50": 40, "49": 25, "47": 20, "48": 15},
    "G": {"54": 50, "58": 20, "59": 20, "55": 5, "60": 3, "53": 0.5, "56": 0.5, "57": 0.1},
    "K": {"70": 1},
    "H": {"62": 80, "61": 20},
    "O": {"80": 40, "81": 35, "82": 25},
    "N": {"77": 50, "78": 40, "76": 5, "79": 5},
    "R": {"88": 35, "90": 25, "89": 20, "86": 10, "87": 10},
    "A": {"01": 50, "03": 25, "04": 15, "02": 5, "05": 5},
    "J": {"69": 40, "66": 20, "67": 20, "68": 20},
    "P": {"83": 1},
    "Q": {"84": 70, "85": 30},
    "D": {"44": 50, "46": 30, "45": 20},
    "B": {"10": 1},
}
INDIVIDUAL_DIVISIONS: dict[str, float] = {
    "52": 38, "62": 22, "51": 12, "81": 8, "80": 6, "82": 4, "18": 3, "54": 3, "33": 2, "61": 2,
}
COOPERATIVE_DIVISIONS: dict[str, float] = {"01": 55, "03": 20, "04": 20, "05": 5}
KIND_WEIGHTS: dict[int, float] = {COMPANY: 85, INDIVIDUAL: 13, COOPERATIVE: 2}

SCALE_WEIGHTS: dict[int, dict[str, float]] = {
    COMPANY: {"micro": 75, "small": 19, "medium": 4.8, "large": 1.2},
    INDIVIDUAL: {"micro": 1},
    COOPERATIVE: {"micro": 90, "small": 10},
}
# Registered capital in 万元: (median, sigma of the log, lower bound, upper bound)
CAPITAL: dict[str, tuple[float, float, float, float]] = {
    "micro": (30, 0.75, 3, 500),
    "small": (300, 0.8, 50, 5000),
    "medium": (2000, 0.8, 300, 50000),
    "large": (20000, 1.0, 3000, 5_000_000),
}
INDIVIDUAL_CAPITAL = (5, 0.9, 0.5, 100)
ENTERPRISE_HOLDER_P: dict[str, float] = {
    "micro": 0.08,
    "small": 0.17,
    "medium": 0.38,
    "large": 0.6,
}

TRADE_SYLLABLES = "".join(  # distinct characters: a pair must spell one name only
    dict.fromkeys(
        "华瑞宏达兴盛鑫恒泰嘉利丰源昌隆永新联创富金宝德佳汇通发荣祥和升景翔凯威力科精诚信立志振伟"
        "辉海天明光亿万百誉高博远广明阳晟昊宇星辰益美雅尚品优锐捷迅腾飞跃志远卓越合众顺安康健乐"
        "福庆喜民俊豪骏骐骏铭钧铖锦绣彩虹润泽沃丰裕盈灿煌炜烨焱森林茂松柏桦楠奕弘毅睿哲贤儒圣"
        "元亨利贞乾坤艺凌峰岳川江河湖洋澳港粤南北中东西龙凤麒麟鹏鸿雁燕鹰"
    )
)
TRADE_ENDINGS = "达兴源丰隆昌泰盛鑫发"
THREE_CHARACTER_SHARE = 0.3

COMPANY_WORDS: dict[str, tuple[str, ...]] = {
    "01": ("农业", "农业科技", "种植"),
    "02": ("林业", "苗木"),
    "03": ("养殖", "畜牧"),
    "04": ("水产", "渔业"),
    "05": ("农业服务",),
    "10": ("矿业", "石场"),
    "13": ("食品", "粮油", "饲料", "肉类加工"),
    "14": ("食品科技", "烘焙食品", "调味品", "糖果"),
    "15": ("饮料", "酒业", "茶业"),
    "16": ("烟草",),
    "17": ("纺织", "毛织", "针织", "织造", "印染"),
    "18": ("服装", "服饰", "制衣", "时装"),
    "19": ("鞋业", "皮具", "箱包", "皮革制品"),
    "20": ("木业", "木制品"),
    "21": ("家具", "家私", "办公家具"),
    "22": ("纸业", "纸品", "包装材料"),
    "23": ("印刷", "彩印", "包装印刷"),
    "24": ("玩具", "工艺品", "体育用品", "文具"),
    "25": ("能源", "润滑油"),
    "26": ("化工", "新材料", "涂料", "化工材料"),
    "27": ("医药", "生物科技", "制药"),
    "28": ("化纤",),
    "29": ("塑胶制品", "塑胶电子", "橡胶制品", "塑料包装", "硅胶制品"),
    "30": ("陶瓷", "玻璃制品", "建材", "石材"),
    "31": ("钢铁", "钢材加工"),
    "32": ("铝业", "铜业", "金属材料"),
    "33": ("五金制品", "五金", "精密五金", "五金塑胶", "金属制品", "压铸", "表面处理"),
    "34": ("机械", "机械设备", "自动化设备", "精密机械"),
    "35": ("模具", "精密模具", "智能装备", "机电设备"),
    "36": ("汽车配件", "汽车零部件"),
    "37": ("游艇", "自行车"),
    "38": ("电器", "电气", "照明", "电池", "新能源科技", "电线电缆"),
    "39": ("电子", "电子科技", "光电", "智能科技", "通讯设备", "精密电子", "半导体"),
    "40": ("仪器", "检测设备", "仪表"),
    "41": ("实业", "日用品"),
    "42": ("再生资源", "环保科技"),
    "43": ("设备维修",),
    "44": ("电力", "新能源"),
    "45": ("燃气",),
    "46": ("水务", "供水"),
    "47": ("建筑工程", "建设"),
    "48": ("市政工程", "路桥工程"),
    "49": ("机电工程", "安装工程", "消防工程"),
    "50": ("装饰工程", "建筑装饰", "装修工程"),
    "51": ("贸易", "商贸", "进出口", "供应链", "五金贸易", "电子贸易"),
    "52": ("百货", "商业", "超市", "医药连锁"),
    "53": ("铁路物流",),
    "54": ("运输", "物流", "货运", "客运"),
    "55": ("航运",),
    "56": ("航空服务",),
    "57": ("管道运输",),
    "58": ("国际货运代理", "货运代理"),
    "59": ("仓储", "仓储服务"),
    "60": ("速递",),
    "61": ("酒店", "酒店管理"),
    "62": ("餐饮", "餐饮管理", "饮食"),
    "63": ("通信技术", "网络工程"),
    "64": ("网络科技", "互联网科技", "信息科技"),
    "65": ("软件", "软件科技", "信息技术", "数据科技", "计算机科技"),
    "66": ("小额贷款",),
    "67": ("资产管理", "股权投资"),
    "68": ("保险代理",),
    "69": ("融资租赁", "商业保理", "典当"),
    "70": ("房地产开发", "置业", "物业管理", "房地产经纪"),
    "71": ("设备租赁", "汽车租赁"),
    "72": ("企业管理", "人力资源", "广告", "咨询", "会展服务", "劳务派遣", "知识产权代理"),
    "73": ("研究院", "技术研究"),
    "74": ("检测", "工程设计", "测绘", "环境检测"),
    "75": ("技术服务", "科技服务", "新技术"),
    "76": ("水利工程",),
    "77": ("环保工程", "环境治理", "园林绿化"),
    "78": ("市政服务", "园林"),
    "79": ("土地整理",),
    "80": ("家政服务", "保洁服务"),
    "81": ("汽车维修", "电器维修"),
    "82": ("美容", "洗涤服务"),
    "83": ("教育科技", "培训"),
    "84": ("医疗管理", "健康管理"),
    "85": ("养老服务",),
    "86": ("图书", "出版"),
    "87": ("影视", "传媒"),
    "88": ("文化传播", "文化艺术"),
    "89": ("体育发展", "体育文化"),
    "90": ("娱乐", "文化娱乐"),
}
HOLDING_WORDS = ("投资控股", "实业投资", "控股集团", "投资发展", "产业投资", "投资管理")
INDIVIDUAL_WORDS: dict[str, tuple[str, ...]] = {
    "52": ("便利店", "百货商店", "五金店", "服装店", "副食店", "水果店", "烟酒商行", "建材店"),
    "62": ("餐厅", "饭店", "小吃店", "茶餐厅", "烧腊店", "面馆", "奶茶店"),
    "51": ("商行", "贸易商行", "五金商行", "电子经营部", "建材经营部"),
    "81": ("汽车维修店", "摩托车维修部", "家电维修部", "手机维修店"),
    "80": ("理发店", "洗衣店", "家政服务部"),
    "82": ("美容院", "美甲店"),
    "18": ("制衣厂", "服装加工厂"),
    "54": ("货运部", "搬运服务部"),
    "33": ("五金加工厂",),
    "61": ("旅馆", "民宿"),
}
COOPERATIVE_WORDS: dict[str, tuple[str, ...]] = {
    "01": ("蔬菜种植专业合作社", "荔枝种植专业合作社", "香蕉种植专业合作社", "花卉种植专业合作社"),
    "03": ("家禽养殖专业合作社", "生猪养殖专业合作社"),
    "04": ("水产养殖专业合作社",),
    "05": ("农机服务专业合作社",),
}
ROADS = (
    "东莞大道", "莞太路", "莞深路", "环城路", "工业大道", "振兴路", "新城路", "创业路", "科技路",
    "沿河路", "建设路", "人民路", "富民路", "兴业路", "金龙路", "育才路", "文明路", "长青路",
    "鸿福路", "宏图路", "裕丰路", "华兴路", "学府路", "东江路", "南环路", "北环路", "工业东路",
    "工业西路", "商业街", "环湖路",
)

SURNAMES: dict[str, float] = {
    "陈": 8.0, "李": 6.5, "黄": 5.0, "张": 5.0, "王": 5.0, "刘": 4.5, "林": 3.5, "梁": 3.0,
    "吴": 2.5, "杨": 2.5, "何": 2.2, "罗": 2.0, "叶": 2.0, "郑": 1.8, "周": 1.8, "谢": 1.5,
    "赵": 1.5, "钟": 1.5, "邓": 1.5, "曾": 1.5, "徐": 1.2, "蔡": 1.2, "卢": 1.2, "彭": 1.0,
    "朱": 1.0, "胡": 1.0, "郭": 1.0, "许": 1.0, "莫": 0.8, "苏": 0.8, "袁": 0.8, "唐": 0.8,
    "冯": 0.8, "肖": 0.8, "马": 0.8, "孙": 0.8, "高": 0.8, "潘": 0.7, "余": 0.7, "温": 0.6,
    "方": 0.6, "邱": 0.6, "赖": 0.6, "江": 0.6, "蒋": 0.6, "杜": 0.5, "丁": 0.4, "魏": 0.4,
    "姚": 0.4, "韦": 0.4, "覃": 0.4, "廖": 0.6, "严": 0.3, "尹": 0.3, "戴": 0.3, "龙": 0.3,
    "欧阳": 0.2, "司徒": 0.05, "麦": 0.3, "植": 0.05, "祁": 0.1, "古": 0.2, "翟": 0.1,
}
GIVEN_MALE = (
    "伟强军勇杰涛明斌辉俊鹏华峰磊健波宇浩文志国建平海东林超刚飞龙"
    "晨锋成坤荣昌德永兴家振耀嘉翔宏伦锦泽毅睿航"
)
GIVEN_FEMALE = "芳娜敏静丽艳娟霞燕玲婷雪慧莉萍红梅琳颖倩琴云洁欣怡佳晶秀英兰凤珍彤妍诗雅"

# Where the people of Dongguan were born: county-level codes of GB/T 2260 (weights ≈ shares).
ORIGIN_REGIONS: dict[str, float] = {
    "441900": 30,  # 东莞
    "440103": 1, "440106": 1.5, "440303": 1, "440304": 1, "440402": 0.5, "440604": 1,
    "441302": 2, "441323": 1.5, "445102": 1, "445202": 2, "445222": 1.5, "445224": 1.5,
    "440513": 2, "440514": 1.5, "441402": 1, "441424": 2, "441622": 2, "440981": 2.5,
    "440982": 2, "440823": 2, "440825": 1, "441881": 1.5, "441702": 1,
    "450881": 2, "450921": 1.5, "450481": 1, "450521": 1,
    "430524": 2, "430482": 1.5, "431021": 1.5, "430623": 1,
    "360781": 1, "360735": 0.8, "360723": 0.6,
    "511381": 1, "511623": 1, "510322": 0.8,
    "420982": 1, "421381": 1, "411521": 1, "411526": 1, "411623": 1, "520502": 1,
}
BIRTH_FROM, BIRTH_TO = date(1955, 1, 1), date(2003, 12, 31)
# fmt: on

# ---------------------------------------------------------------------------------------------
# Departments that send records, and what they send
# ---------------------------------------------------------------------------------------------
SAMR = "东莞市市场监督管理局"
TAX = "国家税务总局东莞市税务局"
HRSS = "东莞市人力资源和社会保障局"
HOUSING_FUND = "东莞住房公积金管理中心"
ECOLOGY = "东莞市生态环境局"
SAFETY = "东莞市应急管理局"
FIRE = "东莞市消防救援支队"
HOUSING = "东莞市住房和城乡建设局"
TRANSPORT = "东莞市交通运输局"
HEALTH = "东莞市卫生健康局"
URBAN = "东莞市城市管理和综合执法局"
SCIENCE = "东莞市科学技术局"
INDUSTRY = "东莞市工业和信息化局"
EDUCATION = "东莞市教育局"
DEVELOPMENT = "东莞市发展和改革局"
AGRICULTURE = "东莞市农业农村局"
GOVERNMENT = "东莞市人民政府"
CUSTOMS = "中华人民共和国黄埔海关"
TELECOM = "广东省通信管理局"
COURTS = (
    ("东莞市第一人民法院", "粤1971", 4.0),
    ("东莞市第二人民法院", "粤1972", 3.0),
    ("东莞市第三人民法院", "粤1973", 3.0),
    ("东莞市中级人民法院", "粤19", 1.0),
)
UTILITIES = (
    ("东莞市东江水务有限公司", "水费", 0.3),
    ("广东电网有限责任公司东莞供电局", "电费", 0.5),
    ("东莞新奥燃气有限公司", "燃气费", 0.2),
)

PENALTY_ABBREVIATIONS: dict[str, str] = {
    SAMR: "东市监罚",
    ECOLOGY: "东环罚",
    SAFETY: "东应急罚",
    FIRE: "东消行罚决字",
    TAX: "东税稽罚",
    HRSS: "东人社监罚",
    URBAN: "东城管罚",
    HOUSING: "东建罚",
    TRANSPORT: "东交执罚",
    HEALTH: "东卫监罚",
}
PENALTY_CAUSES: dict[str, tuple[tuple[str, str], ...]] = {
    SAMR: (
        ("未按规定期限公示年度报告", "《企业信息公示暂行条例》第十八条"),
        ("销售不符合保障人体健康安全标准的产品", "《中华人民共和国产品质量法》第四十九条"),
        ("发布虚假广告", "《中华人民共和国广告法》第五十五条"),
        ("经营超过保质期的食品", "《中华人民共和国食品安全法》第一百二十四条"),
        ("使用未经检验的特种设备", "《中华人民共和国特种设备安全法》第八十四条"),
        ("计量器具未按规定检定", "《中华人民共和国计量法》第二十五条"),
    ),
    ECOLOGY: (
        ("超过大气污染物排放标准排放大气污染物", "《中华人民共和国大气污染防治法》第九十九条"),
        (
            "未依法报批建设项目环境影响报告表擅自开工建设",
            "《中华人民共和国环境影响评价法》第三十一条",
        ),
        ("未按规定贮存危险废物", "《中华人民共和国固体废物污染环境防治法》第一百一十二条"),
        ("通过暗管排放水污染物", "《中华人民共和国水污染防治法》第八十三条"),
    ),
    SAFETY: (
        ("未如实记录安全生产教育和培训情况", "《中华人民共和国安全生产法》第九十七条"),
        ("未对安全设备进行经常性维护、保养", "《中华人民共和国安全生产法》第九十九条"),
        ("未建立事故隐患排查治理制度", "《中华人民共和国安全生产法》第一百零一条"),
    ),
    FIRE: (
        ("消防设施、器材未保持完好有效", "《中华人民共和国消防法》第六十条"),
        ("占用、堵塞、封闭疏散通道、安全出口", "《中华人民共和国消防法》第六十条"),
    ),
    TAX: (
        ("未按照规定期限办理纳税申报和报送纳税资料", "《中华人民共和国税收征收管理法》第六十二条"),
        ("未按照规定开具发票", "《中华人民共和国发票管理办法》第三十五条"),
    ),
    HRSS: (
        ("未按规定与劳动者订立书面劳动合同", "《劳动保障监察条例》第二十四条"),
        ("安排劳动者超时加班", "《劳动保障监察条例》第二十五条"),
    ),
    URBAN: (
        ("未经批准设置户外广告设施", "《广东省城乡生活垃圾管理条例》第四十九条"),
        ("占用城市道路堆放物料", "《城市道路管理条例》第四十二条"),
    ),
    HOUSING: (
        ("未取得施工许可证擅自施工", "《建筑工程施工许可管理办法》第十二条"),
        ("施工现场未采取扬尘污染防治措施", "《中华人民共和国大气污染防治法》第一百一十五条"),
    ),
    TRANSPORT: (
        ("未取得道路运输经营许可擅自从事道路运输经营", "《中华人民共和国道路运输条例》第六十三条"),
        ("货运车辆超限运输", "《公路安全保护条例》第六十四条"),
    ),
    HEALTH: (("公共场所未取得卫生许可证擅自营业", "《公共场所卫生管理条例实施细则》第三十五条"),),
}
PENALTY_DEPARTMENTS: dict[str, Weighted[str]] = {
    "C": Weighted({SAMR: 35, ECOLOGY: 25, SAFETY: 20, FIRE: 10, HRSS: 5, TAX: 5}),
    "F": Weighted({SAMR: 60, TAX: 15, FIRE: 10, URBAN: 10, HRSS: 5}),
    "H": Weighted({SAMR: 55, FIRE: 20, URBAN: 10, ECOLOGY: 5, HEALTH: 10}),
    "E": Weighted({HOUSING: 50, SAFETY: 20, HRSS: 15, URBAN: 15}),
    "G": Weighted({TRANSPORT: 60, SAFETY: 20, SAMR: 20}),
    "": Weighted({SAMR: 50, TAX: 20, HRSS: 15, FIRE: 15}),
}
PENALTY_CLASSES = Weighted({"minor": 60, "general": 35, "serious": 5})

# (department, licence, decision-number abbreviation, validity in years)
LICENCES: dict[str, Weighted[tuple[str, str, str, int]]] = {
    "C": Weighted(
        {
            (ECOLOGY, "排污许可证", "东环许", 5): 45,
            (SAMR, "工业产品生产许可证", "东市监许", 5): 20,
            (SAFETY, "安全生产许可证", "东应急许", 3): 10,
            (SAMR, "食品生产许可证", "东市监许", 5): 10,
            (FIRE, "公众聚集场所投入使用、营业前消防安全检查合格证", "东消许", 5): 15,
        }
    ),
    "F": Weighted(
        {
            (SAMR, "食品经营许可证", "东市监许", 5): 60,
            (SAFETY, "危险化学品经营许可证", "东应急许", 3): 15,
            (SAMR, "药品经营许可证", "东市监许", 5): 10,
            (SAMR, "酒类流通备案登记", "东市监许", 5): 15,
        }
    ),
    "H": Weighted(
        {
            (SAMR, "食品经营许可证", "东市监许", 5): 70,
            (HEALTH, "公共场所卫生许可证", "东卫许", 4): 30,
        }
    ),
    "O": Weighted({(HEALTH, "公共场所卫生许可证", "东卫许", 4): 1}),
    "G": Weighted({(TRANSPORT, "道路运输经营许可证", "东交许", 4): 1}),
    "E": Weighted({(HOUSING, "建筑施工企业安全生产许可证", "东建许", 3): 1}),
    "I": Weighted({(TELECOM, "增值电信业务经营许可证", "粤通许", 5): 1}),
    "Q": Weighted({(HEALTH, "医疗机构执业许可证", "东卫许", 5): 1}),
    "P": Weighted({(EDUCATION, "民办学校办学许可证", "东教许", 5): 1}),
    "A": Weighted({(AGRICULTURE, "动物防疫条件合格证", "东农许", 5): 1}),
    "": Weighted({(SAMR, "食品经营许可证", "东市监许", 5): 1}),
}
LICENCE_RATE: dict[str, float] = {"C": 1.3, "F": 1.2, "H": 1.5, "G": 1.2, "E": 1.1, "O": 0.8}
TAX_GRADES = Weighted({"A": 25, "B": 45, "M": 20, "C": 8, "D": 2})
QUALIFICATIONS = (
    (SCIENCE, "高新技术企业", "GR", 3, ("C", "I", "M")),
    (INDUSTRY, "专精特新中小企业", "ZJTX", 3, ("C", "I")),
    (HOUSING, "建筑业企业资质", "D3", 5, ("E",)),
)
AWARDS = (
    (GOVERNMENT, "东莞市政府质量奖"),
    (INDUSTRY, "东莞市倍增计划试点企业"),
    (SCIENCE, "东莞市创新型企业"),
    (SAMR, "东莞市知名品牌"),
)
ABNORMAL_CAUSES = (
    "未依照《企业信息公示暂行条例》第八条规定的期限公示年度报告",
    "通过登记的住所或者经营场所无法联系",
    "公示企业信息隐瞒真实情况、弄虚作假",
)
SERIOUS_LISTS = (
    (SAMR, "市场监督管理严重违法失信名单", "东市监严失"),
    (TAX, "重大税收违法失信主体", "东税失"),
    (HRSS, "拖欠农民工工资失信联合惩戒对象名单", "东人社失"),
)
CASE_TYPES = (
    "买卖合同纠纷",
    "劳动争议",
    "民间借贷纠纷",
    "租赁合同纠纷",
    "建设工程施工合同纠纷",
    "服务合同纠纷",
    "承揽合同纠纷",
)
COMMITMENTS = (
    (SAMR, "食品经营许可告知承诺"),
    (SAMR, "企业住所（经营场所）申报承诺"),
    (HOUSING, "建筑工程施工许可告知承诺"),
    (HRSS, "劳动保障守法诚信承诺"),
    (ECOLOGY, "建设项目环评审批告知承诺"),
    (DEVELOPMENT, "信用修复承诺"),
    (TRANSPORT, "道路运输经营许可告知承诺"),
)
INSPECTION_RESULTS = Weighted(
    {
        "未发现问题": 78,
        "发现问题，已责令整改": 15,
        "未按规定公示年报": 4,
        "通过登记的住所无法联系": 3,
    }
)
FULFILMENTS = Weighted({"fulfilled": 85, "pending": 12, "breached": 3})
EMPLOYEES = {"micro": (1, 9), "small": (10, 99), "medium": (100, 999), "large": (1000, 8000)}


# ---------------------------------------------------------------------------------------------
# The generator
# ---------------------------------------------------------------------------------------------
@dataclass(slots=True)
class Firm:
    index: int
    id: int
    kind: int
    town: str
    division: str
    section: str
    scale: str
    capital: int  # yuan
    established: date
    status: str
    uscc: str
    name: str
    address: str
    legal_rep: int  # person index
    holders: list[tuple[bool, int, int]]  # (is an enterprise, index, share in 0.0001 %)


@dataclass(slots=True)
class Chunk:
    start: int
    stop: int
    firms: list[Firm]
    new_persons: list[int]  # person indexes first used in this chunk (not already in the DB)


class Resolver(Protocol):
    """What the generator asks the database so that it never writes a duplicate."""

    def existing_usccs(self, codes: Sequence[str]) -> set[str]: ...

    def existing_persons(self, hashes: Sequence[str]) -> dict[str, tuple[int, str]]: ...


class _NoDatabase:
    def existing_usccs(self, codes: Sequence[str]) -> set[str]:
        return set()

    def existing_persons(self, hashes: Sequence[str]) -> dict[str, tuple[int, str]]:
        return {}


@dataclass(frozen=True)
class Ids:
    """The first id of each table for this run (the generator assigns ids itself)."""

    enterprise: int = 1
    person: int = 1
    shareholding: int = 1
    record: int = 1
    personnel: int = 1


ENTERPRISE_COLUMNS = (
    "id",
    "uscc",
    "name",
    "region_code",
    "town",
    "industry_section",
    "industry_division",
    "scale",
    "registered_capital",
    "established_date",
    "status",
    "legal_rep_name",
    "legal_rep_id",
    "address",
    "phone",
    "created_at",
    "updated_at",
)
PERSON_COLUMNS = ("id", "id_hash", "id_masked", "name")
PERSONNEL_COLUMNS = ("id", "enterprise_id", "person_id", "role", "as_of", "source")
SHAREHOLDING_COLUMNS = (
    "id",
    "holder_enterprise_id",
    "holder_person_id",
    "target_id",
    "share_percent",
    "subscribed_capital",
    "as_of",
    "source",
)
RECORD_COLUMNS = ("id", *STORED_COLUMNS)


# days from decision to upload: mostly within a week, a tail of late reporting
UPLOAD_LAG_DAYS = (1, 1, 2, 2, 2, 3, 3, 4, 5, 6, 7, 8, 9, 12, 16, 25, 40)


def _split_shares(rng: random.Random, count: int, total: int) -> list[int]:
    """`count` positive shares summing to exactly `total` (0.0001 % units), the largest first;
    mostly whole percents as registrations show them, the last taking the remainder."""
    if count == 1:
        return [total]
    step = 10000 if total % 10000 == 0 and total >= count * 10000 and rng.random() < 0.9 else 1
    weights = sorted((rng.paretovariate(1.3) for _i in range(count)), reverse=True)
    scale = sum(weights)
    shares = [max(step, int(w / scale * total) // step * step) for w in weights[:-1]]
    rest = total - sum(shares)
    if rest <= 0:  # fall back to an even split
        shares = [total // count] * (count - 1)
        rest = total - sum(shares)
    shares.append(rest)
    return shares


class CityGenerator:
    """Deterministic synthetic Dongguan; iterate `chunks()` then `records()` of each chunk."""

    def __init__(
        self,
        n: int,
        seed: int,
        *,
        ids: Ids | None = None,
        now: Any = "",
        today: date | None = None,
        resolver: Resolver | None = None,
        stamp: Callable[[datetime], Any] = datetime.isoformat,
    ):
        if n < 1:
            raise ValueError("n must be at least 1")
        self.n, self.seed = n, seed
        self.ids = ids or Ids()
        self.now = now
        self.stamp = stamp
        self.today = today or DATA_AS_OF
        self.now_utc = datetime.combine(self.today, dt_time(2, 0), tzinfo=UTC)
        self.resolver: Resolver = resolver or _NoDatabase()
        root = random.Random(f"xinyidai-city:{seed}")
        self.rng = random.Random(root.getrandbits(64))  # firms and the graph
        self.record_rng = random.Random(root.getrandbits(64))
        plan_rng = random.Random(root.getrandbits(64))
        key_rng = random.Random(root.getrandbits(64))
        self.person_key = key_rng.getrandbits(64).to_bytes(8, "little")

        # keyed permutations: USCC bodies (old 8-digit organisation codes and the "MA" era) …
        self.uscc_old = Permutation(10**8, key_rng)
        self.uscc_ma = Permutation(len(CHARSET) ** 6, key_rng)
        self.uscc_counters = [0, 0]
        # … trade names per industry word (2 and 3 characters) …
        self.trade_pairs = len(TRADE_SYLLABLES) ** 2
        words = sorted(
            {w for ws in COMPANY_WORDS.values() for w in ws}
            | set(HOLDING_WORDS)
            | {w for ws in INDIVIDUAL_WORDS.values() for w in ws}
            | {w for ws in COOPERATIVE_WORDS.values() for w in ws}
        )
        self.word_perms = {
            w: (
                Permutation(self.trade_pairs, key_rng),
                Permutation(self.trade_pairs * len(TRADE_ENDINGS), key_rng),
            )
            for w in words
        }
        self.word_counters: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        # … and resident IDs per region of birth.
        self.birth_days = (BIRTH_TO - BIRTH_FROM).days + 1
        self.region_perms = {
            region: Permutation(self.birth_days * 1000, key_rng) for region in ORIGIN_REGIONS
        }
        self.region_counters: dict[str, int] = defaultdict(int)

        self.holding_count = min(n, max(3, n // 2000))
        self.kinds = bytearray(n)
        kinds = Weighted(KIND_WEIGHTS)
        for i in range(n):
            self.kinds[i] = COMPANY if i < self.holding_count else kinds.pick(plan_rng)
        self.holding_pick = Weighted([(h, (h + 1) ** -0.8) for h in range(self.holding_count)])

        self.towns = Weighted(TOWN_WEIGHTS)
        self.company_divisions = Weighted(
            {
                division: SECTION_WEIGHTS[section] * w / sum(DIVISION_WEIGHTS[section].values())
                for section, divisions in DIVISION_WEIGHTS.items()
                for division, w in divisions.items()
            }
        )
        self.individual_divisions = Weighted(INDIVIDUAL_DIVISIONS)
        self.cooperative_divisions = Weighted(COOPERATIVE_DIVISIONS)
        self.scales = {kind: Weighted(w) for kind, w in SCALE_WEIGHTS.items()}
        self.regions = Weighted(ORIGIN_REGIONS)
        self.surnames = Weighted(SURNAMES)
        self.courts = Weighted([((name, code), w) for name, code, w in COURTS])
        self.utilities = Weighted([((name, what), w) for name, what, w in UTILITIES])

        # graph state: preferential attachment over earlier picks
        self.person_first17 = array("q")  # person index -> first 17 digits of the resident ID
        self.person_check = bytearray()  # person index -> its check character
        self.person_refs = array("q")  # one entry per use of a person
        self.enterprise_refs = array("q")  # one entry per use of an enterprise as a holder
        self.person_remap: dict[int, tuple[int, str]] = {}  # person index -> existing (id, name)
        self.pending: dict[int, list[tuple[int, int]]] = defaultdict(list)
        self.late: list[Row] = []
        self.next_holding_id = self.ids.shareholding
        self.next_record_id = self.ids.record
        self.next_personnel_id = self.ids.personnel
        self.record_index = 0
        self.document_counters: dict[tuple[str, int], int] = defaultdict(int)
        self.crossings_planned = self.cycles_planned = 0
        self.counts = {
            "enterprises": 0,
            "persons": 0,
            "shareholdings": 0,
            "records": 0,
            "personnel": 0,
        }

    # -- identifiers -----------------------------------------------------------------------------
    def _uscc(self, kind: int, established: date) -> str:
        era = 1 if established >= MA_ERA else 0
        counter = self.uscc_counters[era]
        self.uscc_counters[era] += 1
        if era:
            value = self.uscc_ma(counter)
            body = "MA"
            chars = []
            for _i in range(6):
                value, digit = divmod(value, len(CHARSET))
                chars.append(CHARSET[digit])
            body += "".join(chars)
        else:
            body = f"{self.uscc_old(counter):08d}"
        first17 = f"9{kind}{REGION}{body}{organization_check_character(body)}"
        return first17 + check_character(first17)

    def _trade_name(self, word: str) -> str:
        """A 2–3 character trade name never used before with `word` (a permuted counter)."""
        pairs, threes = self.word_perms[word]
        counters = self.word_counters[word]
        n_syllables = len(TRADE_SYLLABLES)
        while True:
            three = counters[0] >= self.trade_pairs or self.rng.random() < THREE_CHARACTER_SHARE
            if not three:
                value = pairs(counters[0])
                counters[0] += 1
                ending = ""
            else:
                value, e = divmod(threes(counters[1]), len(TRADE_ENDINGS))
                counters[1] += 1
                ending = TRADE_ENDINGS[e]
            a, b = divmod(value, n_syllables)
            trade = TRADE_SYLLABLES[a] + TRADE_SYLLABLES[b] + ending
            if trade[:2] not in _AVOIDED_TRADE_NAMES:
                return trade

    def marker(self) -> tuple[str, str]:
        """(USCC, name) of the first enterprise this seed generates: its presence in the database
        means the seed's city is already there. Computed from the permutations only."""
        fresh = CityGenerator(1, self.seed)
        firm = fresh._firm(0)
        return firm.uscc, firm.name

    # -- persons ---------------------------------------------------------------------------------
    def _new_person(self) -> int:
        index = len(self.person_first17)
        region = self.regions.pick(self.rng)
        counter = self.region_counters[region]
        self.region_counters[region] = counter + 1
        day, sequence = divmod(self.region_perms[region](counter), 1000)
        born = BIRTH_FROM + timedelta(days=day)
        first17 = f"{region}{born:%Y%m%d}{sequence:03d}"
        self.person_first17.append(int(first17))
        self.person_check.append(ord(resident_id.check_digit(first17)))
        return index

    def _person(self, *, new_share: float, exclude: Iterable[int] = ()) -> int:
        if self.person_refs and self.rng.random() >= new_share:
            for _attempt in range(4):
                index = self.person_refs[self.rng.randrange(len(self.person_refs))]
                if index not in exclude:
                    self.person_refs.append(index)
                    return index
        index = self._new_person()
        self.person_refs.append(index)
        return index

    def person_number(self, index: int) -> str:
        return f"{self.person_first17[index]}{self.person_check[index]:c}"

    def person_name(self, index: int) -> str:
        if index in self.person_remap:
            return self.person_remap[index][1]
        digest = hashlib.blake2b(
            index.to_bytes(8, "little"), digest_size=16, key=self.person_key
        ).digest()
        u1 = int.from_bytes(digest[:6], "little") / 2**48
        u2 = int.from_bytes(digest[6:10], "little")
        u3 = int.from_bytes(digest[10:14], "little")
        male = self.person_first17[index] % 2 == 1
        given = GIVEN_MALE if male else GIVEN_FEMALE
        name = self.surnames.pick_unit(u1) + given[u2 % len(given)]
        if digest[14] < 192:  # three quarters have a two-character given name
            name += given[u3 % len(given)]
        return name

    def person_id(self, index: int) -> int:
        remapped = self.person_remap.get(index)
        return remapped[0] if remapped else self.ids.person + index

    # -- enterprises -----------------------------------------------------------------------------
    def _established(self, mean_years: float, earliest: date = EARLIEST_ESTABLISHED) -> date:
        last = DATA_AS_OF.toordinal()
        while True:
            day = last - int(self.rng.expovariate(1 / (mean_years * 365.25)))
            if day >= earliest.toordinal():
                return date.fromordinal(day)

    def _capital(self, scale: str, kind: int) -> int:
        median, sigma, low, high = INDIVIDUAL_CAPITAL if kind == INDIVIDUAL else CAPITAL[scale]
        wan = min(high, max(low, self.rng.lognormvariate(math.log(median), sigma)))
        if self.rng.random() < 0.1:  # odd amounts exist, to the yuan
            return max(1000, int(wan * 10000))
        step = 1 if wan < 100 else 10 if wan < 1000 else 100 if wan < 10000 else 1000
        if wan < 5:
            return max(1, round(wan * 2)) * 5000
        return max(1, round(wan / step)) * step * 10000

    def _status(self, established: date) -> str:
        age = (DATA_AS_OF - established).days / 365.25
        if self.rng.random() >= min(0.35, 0.04 + 0.012 * age):
            return "active"
        u = self.rng.random()
        return "cancelled" if u < 0.55 else "revoked" if u < 0.9 else "moved_out"

    def _firm(self, i: int) -> Firm:
        rng = self.rng
        kind = self.kinds[i]
        holding = i < self.holding_count
        town = self.towns.pick(rng)
        if holding:
            division = "72"
        elif kind == INDIVIDUAL:
            division = self.individual_divisions.pick(rng)
        elif kind == COOPERATIVE:
            division = self.cooperative_divisions.pick(rng)
        elif TOWN_SPECIALTIES.get(town) and rng.random() < SPECIALTY_SHARE:
            division = rng.choice(TOWN_SPECIALTIES[town])
        else:
            division = self.company_divisions.pick(rng)
        section = reference.INDUSTRY_DIVISIONS[division][0]
        if holding:
            scale = "large" if rng.random() < 0.7 else "medium"
            # before the USCC reform, so the first firm's code depends on the seed only (marker)
            first, last = date(1993, 1, 1).toordinal(), MA_ERA.toordinal() - 1
            established = date.fromordinal(rng.randint(first, last))
        else:
            scale = self.scales[kind].pick(rng)
            established = self._established(5.5 if kind == INDIVIDUAL else 8)
        capital = self._capital(scale, kind)
        status = "active" if holding else self._status(established)
        town_name = reference.TOWN_NAMES[town]
        if holding:
            word = HOLDING_WORDS[i % len(HOLDING_WORDS)]
            name = f"东莞市{self._trade_name(word)}{word}有限公司"
        elif kind == COMPANY:
            word = rng.choice(COMPANY_WORDS[division])
            suffix = "股份有限公司" if scale == "large" and rng.random() < 0.3 else "有限公司"
            name = f"东莞市{self._trade_name(word)}{word}{suffix}"
        else:
            words = INDIVIDUAL_WORDS if kind == INDIVIDUAL else COOPERATIVE_WORDS
            word = rng.choice(words[division])
            short = _TOWN_SHORT[town]
            name = f"东莞市{short}{self._trade_name(word)}{word}"
        address = f"广东省东莞市{town_name}{rng.choice(ROADS)}{rng.randint(1, 688)}号"
        if rng.random() < 0.4:
            address += f"{rng.randint(1, 12)}栋{rng.randint(1, 8)}楼"
        firm = Firm(
            index=i,
            id=self.ids.enterprise + i,
            kind=kind,
            town=town,
            division=division,
            section=section,
            scale=scale,
            capital=capital,
            established=established,
            status=status,
            uscc=self._uscc(kind, established),
            name=name,
            address=address,
            legal_rep=-1,
            holders=[],
        )
        self._holders(firm)
        return firm

    # -- the shareholding graph -----------------------------------------------------------------
    def _later_company(self, after: int) -> int | None:
        for j in range(after + 1, min(self.n, after + 200)):
            if self.kinds[j] == COMPANY and j >= self.holding_count and j not in self.pending:
                return j
        return None

    def _enterprise_holder(self, i: int, taken: set[int]) -> int | None:
        rng = self.rng
        for _attempt in range(8):
            u = rng.random()
            if u < 0.5 or i <= self.holding_count:
                h = self.holding_pick.pick(rng)
            elif u < 0.8 and self.enterprise_refs:
                h = self.enterprise_refs[rng.randrange(len(self.enterprise_refs))]
            else:
                h = rng.randrange(i)
            if h != i and h < i and h not in taken and self.kinds[h] == COMPANY:
                self.enterprise_refs.append(h)
                return h
        return None

    def _holders(self, firm: Firm) -> None:
        rng, i = self.rng, firm.index
        if firm.kind == INDIVIDUAL:  # the operator (经营者) owns it all
            firm.legal_rep = self._person(new_share=0.7)
            firm.holders = [(False, firm.legal_rep, SHARE_TOTAL)]
            return
        if firm.kind == COOPERATIVE:  # members with equal contributions
            members: list[int] = []
            for _m in range(rng.randint(5, 8)):
                members.append(self._person(new_share=0.6, exclude=members))
            members = list(dict.fromkeys(members))
            shares = [SHARE_TOTAL // len(members)] * len(members)
            shares[-1] += SHARE_TOTAL - sum(shares)
            firm.legal_rep = members[0]
            firm.holders = [(False, p, s) for p, s in zip(members, shares, strict=True)]
            return

        holding = i < self.holding_count
        fixed: list[tuple[int, int]] = list(self.pending.pop(i, []))  # planned stakes in this firm
        if not holding and self.crossings_planned * 250 <= i - self.holding_count:
            partner = self._later_company(i)  # cross-holding: i holds partner, partner holds i
            if partner is not None:
                self.pending[partner].append((i, rng.randint(3, 15) * 10000))
                fixed.append((partner, rng.randint(3, 15) * 10000))
                self.crossings_planned += 1
        if not holding and self.cycles_planned * 1500 <= i - self.holding_count:
            second = self._later_company(i)
            third = self._later_company(second) if second is not None else None
            if second is not None and third is not None:  # i → second → third → i
                self.pending[second].append((i, rng.randint(5, 20) * 10000))
                self.pending[third].append((second, rng.randint(5, 20) * 10000))
                fixed.append((third, rng.randint(5, 20) * 10000))
                self.cycles_planned += 1

        taken = {h for h, _s in fixed}
        enterprises: list[int] = []
        if holding:
            if i > 0 and rng.random() < 0.3:
                enterprises.append(rng.randrange(i))  # groups: one holding company holds another
        elif rng.random() < ENTERPRISE_HOLDER_P[firm.scale]:
            for _e in range(2 if rng.random() < 0.1 else 1):
                h = self._enterprise_holder(i, taken | set(enterprises))
                if h is not None:
                    enterprises.append(h)
        wholly_owned = bool(enterprises) and not fixed and not holding and rng.random() < 0.4
        if wholly_owned:
            persons: list[int] = []
            enterprises = enterprises[:1]
        else:
            u = rng.random()
            count = 1 if u < 0.5 else 2 if u < 0.83 else 3 if u < 0.95 else rng.randint(4, 7)
            if firm.scale in ("medium", "large") and count < 3:
                count += 1
            if enterprises or fixed:
                count = max(1, count - 1)
            persons = []
            for k in range(count):
                new_share = 0.7 if k == 0 else 0.45
                persons.append(self._person(new_share=new_share, exclude=persons))
            persons = list(dict.fromkeys(persons))

        fixed_total = sum(s for _h, s in fixed)
        rest = _split_shares(rng, len(persons) + len(enterprises), SHARE_TOTAL - fixed_total)
        # The first split share (the largest) goes to the controlling holder: a person unless
        # the firm is a subsidiary.
        order: list[tuple[bool, int]] = []
        if enterprises and (not persons or rng.random() < 0.5):
            order = [(True, h) for h in enterprises] + [(False, p) for p in persons]
        else:
            order = [(False, p) for p in persons] + [(True, h) for h in enterprises]
        firm.holders = [(e, h, s) for (e, h), s in zip(order, rest, strict=True)]
        firm.holders += [(True, h, s) for h, s in fixed]
        if persons and rng.random() < 0.85:
            firm.legal_rep = persons[0]
        else:
            firm.legal_rep = self._person(new_share=0.6, exclude=persons)

    # -- chunks ---------------------------------------------------------------------------------
    def chunks(self, size: int = 50_000) -> Iterator[Chunk]:
        for start in range(0, self.n, size):
            stop = min(self.n, start + size)
            first_person = len(self.person_first17)
            firms = [self._firm(i) for i in range(start, stop)]
            self._resolve_usccs(firms)
            new_persons = list(range(first_person, len(self.person_first17)))
            found = self.resolver.existing_persons(
                [person_id_hash(self.person_number(p)) for p in new_persons]
            )
            if found:
                for p in new_persons:
                    hit = found.get(person_id_hash(self.person_number(p)))
                    if hit is not None:
                        self.person_remap[p] = hit
                new_persons = [p for p in new_persons if p not in self.person_remap]
            self.counts["enterprises"] += len(firms)
            self.counts["persons"] += len(new_persons)
            yield Chunk(start, stop, firms, new_persons)

    def _resolve_usccs(self, firms: list[Firm]) -> None:
        todo = firms
        while todo:
            clash = self.resolver.existing_usccs([f.uscc for f in todo])
            todo = [f for f in todo if f.uscc in clash]
            for f in todo:
                f.uscc = self._uscc(f.kind, f.established)

    def person_rows(self, chunk: Chunk) -> Iterator[Row]:
        for p in chunk.new_persons:
            number = self.person_number(p)
            yield (
                self.ids.person + p,
                person_id_hash(number),
                person_mask(number),
                self.person_name(p),
            )

    def enterprise_rows(self, chunk: Chunk) -> Iterator[Row]:
        now, encrypt = self.now, crypto.encrypt
        for f in chunk.firms:
            yield (
                f.id,
                f.uscc,
                f.name,
                REGION,
                f.town,
                f.section,
                f.division,
                f.scale,
                f"{f.capital}.00",
                f.established.isoformat(),
                f.status,
                self.person_name(f.legal_rep),
                encrypt(self.person_number(f.legal_rep)),
                f.address,
                "",
                now,
                now,
            )

    def personnel_rows(self, chunk: Chunk) -> Iterator[Row]:
        """Every firm's legal representative as key personnel (a graph link, not ownership)."""
        from enterprises.models import PersonnelRole

        as_of = DATA_AS_OF.isoformat()
        for f in chunk.firms:
            if f.legal_rep < 0:
                continue
            yield (
                self.next_personnel_id,
                f.id,
                self.person_id(f.legal_rep),
                PersonnelRole.LEGAL_REPRESENTATIVE.value,
                as_of,
                SHAREHOLDING_SOURCE,
            )
            self.next_personnel_id += 1
            self.counts["personnel"] += 1

    def shareholding_rows(self, chunk: Chunk) -> Iterator[Row]:
        as_of = DATA_AS_OF.isoformat()
        base = self.ids.enterprise
        for f in chunk.firms:
            for is_enterprise, holder, units in f.holders:
                cents = (f.capital * 100 * units + SHARE_TOTAL // 2) // SHARE_TOTAL
                row = (
                    self.next_holding_id,
                    base + holder if is_enterprise else None,
                    None if is_enterprise else self.person_id(holder),
                    f.id,
                    _percent(units),
                    _money(cents),
                    as_of,
                    SHAREHOLDING_SOURCE,
                )
                self.next_holding_id += 1
                self.counts["shareholdings"] += 1
                if is_enterprise and holder >= chunk.stop:
                    self.late.append(row)  # the holder is written with a later chunk
                else:
                    yield row

    def late_shareholding_rows(self) -> Iterator[Row]:
        rows, self.late = self.late, []
        yield from rows

    # -- credit records -------------------------------------------------------------------------
    def records(self, chunk: Chunk) -> Iterator[Row]:
        for firm in chunk.firms:
            yield from self._firm_records(firm)

    def _document(self, prefix: str, year: int) -> str:
        key = (prefix, year)
        self.document_counters[key] += 1
        return f"{prefix}〔{year}〕{self.document_counters[key]}号"

    def _court_document(self, code: str, kind: str, year: int) -> str:
        key = (code + kind, year)
        self.document_counters[key] += 1
        return f"（{year}）{code}{kind}{self.document_counters[key]}号"

    def _event_date(self, firm: Firm, since: date = date(2016, 1, 1)) -> date:
        low = max(firm.established, since).toordinal()
        high = DATA_AS_OF.toordinal()
        if low >= high:
            return DATA_AS_OF
        return date.fromordinal(high - int((high - low) * self.record_rng.random() ** 1.5))

    def _record(
        self,
        firm: Firm,
        record_type: str,
        department: str,
        decision_date: date,
        raw: dict[str, Any],
        *,
        document_number: str = "",
        penalty_class: str = "",
        amount_cents: int | None = None,
        value: str = "",
        year: int | None = None,
        months_paid: int | None = None,
        months_arrears: int | None = None,
        fulfilment: str = "",
        valid_until: date | None = None,
        content: str = "",
    ) -> Row:
        self.record_index += 1
        fields = {
            "uscc": firm.uscc,
            "enterprise_name": firm.name,
            "record_type": record_type,
            "source_department": department,
            "source_record_id": f"SYN{self.seed}-{self.record_index:09d}",
            "document_number": document_number,
            "decision_date": decision_date.isoformat(),
            "penalty_class": penalty_class,
            "amount": None if amount_cents is None else _money(amount_cents),
            "value": value,
            "year": year,
            "months_paid": months_paid,
            "months_arrears": months_arrears,
            "fulfilment": fulfilment,
            "valid_until": None if valid_until is None else valid_until.isoformat(),
            "content": content,
        }
        minimum, maximum = publication_window(
            record_type, penalty_class, decision_date, valid_until
        )
        raw.setdefault("数据来源单位", department)
        # departments report most decisions within a week, some late (the quality report's
        # timeliness); received at 10:00 Beijing time, never after today
        lag = self.record_rng.choice(UPLOAD_LAG_DAYS)
        arrival = datetime.combine(decision_date, dt_time(2, 0), tzinfo=UTC) + timedelta(days=lag)
        received = self.stamp(min(arrival, self.now_utc))
        row = (
            self.next_record_id,
            firm.id,
            firm.uscc,
            firm.name,
            record_type,
            department,
            fields["source_record_id"],
            document_number,
            fields["decision_date"],
            penalty_class,
            fields["amount"],
            value,
            year,
            months_paid,
            months_arrears,
            fulfilment,
            fields["valid_until"],
            content,
            None if minimum is None else minimum.isoformat(),
            None if maximum is None else maximum.isoformat(),
            "expired" if maximum is not None and maximum < self.today else "active",
            json.dumps(raw, ensure_ascii=False),
            record_content_hash(fields),
            received,
            received,
        )
        self.next_record_id += 1
        self.counts["records"] += 1
        return row

    def _firm_records(self, firm: Firm) -> Iterator[Row]:
        rng = self.record_rng
        company = firm.kind == COMPANY
        active = firm.status == "active"
        section = firm.section
        subject = {"行政相对人名称": firm.name, "统一社会信用代码": firm.uscc}

        # 行政许可
        rate = LICENCE_RATE.get(section, 0.6) * (1.0 if company else 0.7)
        licences = LICENCES.get(section, LICENCES[""])
        for _k in range(_poisson(rng, rate)):
            department, title, prefix, years = licences.pick(rng)
            day = self._event_date(firm, date(2012, 1, 1))
            number = f"{title[:2]}{REGION}{day.year}{rng.randrange(10**6):06d}"
            yield self._record(
                firm,
                "license",
                department,
                day,
                {**subject, "许可证书名称": title, "许可编号": number, "许可机关": department},
                document_number=self._document(prefix, day.year),
                valid_until=date(day.year + years, day.month, min(day.day, 28)),
                content=f"准予{title}（许可编号{number}），有效期{years}年。",
                value=number[:50],
            )

        # 行政处罚
        for _k in range(_poisson(rng, 0.33 if company else 0.2)):
            department = PENALTY_DEPARTMENTS.get(section, PENALTY_DEPARTMENTS[""]).pick(rng)
            cause, basis = rng.choice(PENALTY_CAUSES[department])
            penalty_class = PENALTY_CLASSES.pick(rng)
            day = self._event_date(firm, date(2019, 1, 1))
            amount: int | None  # cents
            if penalty_class == "minor":
                amount = None if rng.random() < 0.5 else rng.randint(2, 50) * 10000
            elif penalty_class == "general":
                fine = min(2e5, max(5e3, rng.lognormvariate(math.log(2e4), 0.8)))
                amount = int(round(fine, -2)) * 100
            else:
                fine = min(5e6, max(1e5, rng.lognormvariate(math.log(3e5), 0.9)))
                amount = int(round(fine, -3)) * 100
            outcome = "警告" if amount is None else f"罚款{_money(amount)}元"
            if penalty_class == "serious" and rng.random() < 0.3:
                outcome += "，吊销相关许可证件"
            yield self._record(
                firm,
                "penalty",
                department,
                day,
                {
                    **subject,
                    "违法行为类型": cause,
                    "处罚依据": basis,
                    "处罚类别": "警告" if amount is None else "罚款",
                    "罚款金额（万元）": "" if amount is None else _wan(amount // 100),
                    "处罚机关": department,
                },
                document_number=self._document(PENALTY_ABBREVIATIONS[department], day.year),
                penalty_class=penalty_class,
                amount_cents=amount,
                content=f"{cause}。依据{basis}，{outcome}。",
            )

        # 行政检查 / 行政强制
        for _k in range(_poisson(rng, 0.3 if company else 0.2)):
            day = self._event_date(firm, date(2018, 1, 1))
            result = INSPECTION_RESULTS.pick(rng)
            department = rng.choice((SAMR, SAMR, SAMR, ECOLOGY, FIRE))
            yield self._record(
                firm,
                "inspection",
                department,
                day,
                {**subject, "检查类型": "双随机、一公开", "检查结果": result},
                value=result,
                content=f"“双随机、一公开”监督抽查，检查结果：{result}。",
            )
        if rng.random() < (0.02 if company else 0.005):
            day = self._event_date(firm, date(2019, 1, 1))
            department, measure = rng.choice(
                ((SAMR, "查封、扣押涉案物品"), (ECOLOGY, "查封造成污染物排放的设施、设备"))
            )
            prefix = "东市监强" if department == SAMR else "东环强"
            yield self._record(
                firm,
                "enforcement",
                department,
                day,
                {**subject, "强制措施": measure},
                document_number=self._document(prefix, day.year),
                content=f"依法实施行政强制措施：{measure}。",
            )

        # 纳税信用等级 (and A-grade taxpayers on the red list)
        last_grade = ""
        if rng.random() < (0.7 if company else 0.12):
            grade = TAX_GRADES.pick(rng)
            for year in (2023, 2024, 2025):
                if firm.established.year > year or (not active and rng.random() < 0.5):
                    continue
                if firm.established.year == year:
                    grade = "M"  # newly registered taxpayers are graded M
                elif rng.random() < 0.3:
                    grade = TAX_GRADES.pick(rng)
                day = date(year + 1, 4, rng.randint(1, 28))
                last_grade = grade
                yield self._record(
                    firm,
                    "tax_grade",
                    TAX,
                    day,
                    {**subject, "评价年度": str(year), "纳税信用级别": grade},
                    value=grade,
                    year=year,
                    content=f"{year}年度纳税信用等级评定为{grade}级。",
                )
        if last_grade == "A" and rng.random() < 0.15:
            day = date(2026, 4, rng.randint(1, 28))
            yield self._record(
                firm,
                "red_list",
                TAX,
                day,
                {**subject, "名单名称": "A级纳税人名单"},
                value="A级纳税人",
                valid_until=date(2027, 3, 31),
                content="列入2025年度A级纳税人名单。",
            )

        # 社会保险 / 住房公积金
        employees = EMPLOYEES[firm.scale]
        for record_type, department, p in (
            ("social_insurance", HRSS, 0.55),
            ("housing_fund", HOUSING_FUND, 0.3),
        ):
            if not company or not active or rng.random() >= p:
                continue
            headcount = rng.randint(*employees)
            for year in (2024, 2025):
                if firm.established.year > year:
                    continue
                if record_type == "housing_fund" and year == 2024 and rng.random() < 0.5:
                    continue
                months = 12 if firm.established.year < year else 13 - firm.established.month
                arrears = 0 if rng.random() < 0.95 else min(months, rng.randint(1, 3))
                day = date(year + 1, 1, rng.randint(10, 31))
                what = "社会保险费" if record_type == "social_insurance" else "住房公积金"
                yield self._record(
                    firm,
                    record_type,
                    department,
                    day,
                    {**subject, "年度": str(year), "参保人数": str(headcount)},
                    value=str(headcount),
                    year=year,
                    months_paid=months - arrears,
                    months_arrears=arrears,
                    content=(
                        f"{year}年度为{headcount}名职工缴纳{what}{months - arrears}个月"
                        + (f"，欠缴{arrears}个月。" if arrears else "，无欠缴。")
                    ),
                )

        # 水电气欠费
        if rng.random() < 0.01:
            provider, what = self.utilities.pick(rng)
            months = rng.randint(2, 6)
            amount = rng.randint(500, 80000) * 100
            day = self._event_date(firm, date(2023, 1, 1))
            yield self._record(
                firm,
                "utility_payment",
                provider,
                day,
                {**subject, "欠费类型": what, "欠费金额（元）": _money(amount)},
                amount_cents=amount,
                value=what,
                months_arrears=months,
                content=f"截至{day:%Y年%m月%d日}欠缴{what}{_money(amount)}元，逾期{months}个月。",
            )

        # 资质 / 荣誉 / 守信激励
        for department, title, prefix, years, sections in QUALIFICATIONS:
            p = 0.12 if section in sections and company and firm.scale != "micro" else 0.01
            if section in sections and company and rng.random() < p:
                day = self._event_date(firm, date(2017, 1, 1))
                number = f"{prefix}{day.year}{rng.randrange(10**6):06d}"
                yield self._record(
                    firm,
                    "qualification",
                    department,
                    day,
                    {**subject, "资质名称": title, "证书编号": number},
                    value=title,
                    valid_until=date(day.year + years, day.month, min(day.day, 28)),
                    content=f"认定为{title}，证书编号{number}。",
                )
        if rng.random() < (0.03 if company else 0.005) or (
            firm.kind == COOPERATIVE and rng.random() < 0.05
        ):
            department, title = (
                (AGRICULTURE, "东莞市农民专业合作社示范社")
                if firm.kind == COOPERATIVE
                else rng.choice(AWARDS)
            )
            day = self._event_date(firm, date(2017, 1, 1))
            yield self._record(
                firm,
                "award",
                department,
                day,
                {**subject, "荣誉名称": title},
                document_number=self._document(
                    "东府" if department == GOVERNMENT else "东奖", day.year
                ),
                value=title,
                content=f"获评{title}。",
            )
        if company and active and rng.random() < 0.02:
            department, title = rng.choice(
                ((SAMR, "广东省守合同重信用企业"), (CUSTOMS, "海关高级认证企业"))
            )
            day = self._event_date(firm, date(2020, 1, 1))
            yield self._record(
                firm,
                "red_list",
                department,
                day,
                {**subject, "名单名称": title},
                value=title,
                valid_until=date(day.year + 2, day.month, min(day.day, 28)),
                content=f"列入{title}名单。",
            )

        # 经营异常名录 / 失信被执行人 / 严重失信主体名单
        if rng.random() < (0.25 if firm.status == "revoked" else 0.008):
            cause = rng.choice(ABNORMAL_CAUSES)
            day = self._event_date(firm, date(2020, 1, 1))
            yield self._record(
                firm,
                "abnormal_operation",
                SAMR,
                day,
                {**subject, "列入经营异常名录原因": cause, "作出决定机关": SAMR},
                document_number=self._document("东市监企异", day.year),
                content=f"因{cause}，列入经营异常名录。",
            )
        if rng.random() < 0.005:
            court, code = self.courts.pick(rng)
            day = self._event_date(firm, date(2020, 1, 1))
            amount = int(rng.lognormvariate(math.log(2e5), 1.0)) * 100
            yield self._record(
                firm,
                "dishonest_debtor",
                court,
                day,
                {**subject, "执行法院": court, "失信被执行人行为具体情形": "有履行能力而拒不履行"},
                document_number=self._court_document(code, "执", day.year),
                amount_cents=amount,
                content="有履行能力而拒不履行生效法律文书确定义务，纳入失信被执行人名单。",
            )
        if rng.random() < 0.002:
            department, title, prefix = rng.choice(SERIOUS_LISTS)
            day = self._event_date(firm, date(2021, 1, 1))
            yield self._record(
                firm,
                "serious_dishonesty",
                department,
                day,
                {**subject, "名单名称": title, "认定部门": department},
                document_number=self._document(prefix, day.year),
                value=title,
                content=f"列入{title}。",
            )

        # 司法判决
        for _k in range(_poisson(rng, 0.06 if company else 0.02)):
            court, code = self.courts.pick(rng)
            day = self._event_date(firm, date(2018, 1, 1))
            case = rng.choice(CASE_TYPES)
            role = "原告" if rng.random() < 0.45 else "被告"
            amount = int(rng.lognormvariate(math.log(1.5e5), 1.1)) * 100
            yield self._record(
                firm,
                "judgment",
                court,
                day,
                {**subject, "案由": case, "诉讼地位": role, "审理法院": court},
                document_number=self._court_document(code, "民初", day.year),
                amount_cents=amount,
                value=role,
                content=f"{case}一审民事判决，本主体为{role}，标的额{_money(amount)}元。",
            )

        # 信用承诺及履约
        for _k in range(_poisson(rng, 0.35 if company else 0.1)):
            department, item = rng.choice(COMMITMENTS)
            day = self._event_date(firm, date(2020, 1, 1))
            valid_until = date(day.year + 1, day.month, min(day.day, 28))
            fulfilment = FULFILMENTS.pick(rng)
            if valid_until < DATA_AS_OF and fulfilment == "pending":
                fulfilment = "fulfilled"
            yield self._record(
                firm,
                "commitment",
                department,
                day,
                {**subject, "承诺事项": item, "履约情况": fulfilment},
                value=item,
                fulfilment=fulfilment,
                valid_until=valid_until,
                content=f"办理{item}时作出信用承诺。",
            )


_TOWN_SHORT: dict[str, str] = {
    slug: name.removesuffix("街道").removesuffix("镇").removesuffix("新区")
    for slug, name, _kind in reference.DONGGUAN_TOWNS
}
# Trade names that would read as a place or collide with the hand-made demo firms.
_AVOIDED_TRADE_NAMES = frozenset(
    [short[:2] for short in _TOWN_SHORT.values()] + ["东莞", "信易", "示范", "中国", "国家"]
)


def check_word_lists() -> list[str]:
    """Problems that would let two different (trade name, word) pairs spell the same name:
    a word that is a trade-name ending followed by another word."""
    words = (
        {w for ws in COMPANY_WORDS.values() for w in ws}
        | set(HOLDING_WORDS)
        | {w for ws in INDIVIDUAL_WORDS.values() for w in ws}
        | {w for ws in COOPERATIVE_WORDS.values() for w in ws}
    )
    return sorted(w for w in words if w[0] in TRADE_ENDINGS and w[1:] in words)


# ---------------------------------------------------------------------------------------------
# Writing to the database
# ---------------------------------------------------------------------------------------------
@dataclass
class Summary:
    seed: int
    requested: int
    enterprises: int = 0
    persons: int = 0
    shareholdings: int = 0
    records: int = 0
    personnel: int = 0
    seconds: float = 0.0
    skipped: bool = False
    marker: tuple[str, str] = ("", "")
    timings: dict[str, float] = field(default_factory=dict)


def _graph_changed() -> None:
    from enterprises.graph import bump_graph_version

    bump_graph_version()


def seed_city(
    n: int,
    seed: int,
    *,
    chunk_size: int = 50_000,
    progress: Callable[[int, int, dict[str, int]], None] | None = None,
) -> Summary:
    """Write the synthetic city for `seed` in one transaction; do nothing when it is there.

    The city of a seed is recognised by its first enterprise (USCC and name depend only on the
    seed): if that row exists the call returns `skipped=True`. So a second run with the same seed
    never duplicates anything, whatever N it asks for; a different seed adds another city.
    """
    from django.db import connection, transaction
    from django.utils import timezone

    from enterprises.models import CreditRecord, Enterprise, KeyPersonnel, Person, Shareholding

    started = time.perf_counter()
    summary = Summary(seed=seed, requested=n)
    postgres = connection.vendor == "postgresql"
    models = (Enterprise, Person, Shareholding, CreditRecord, KeyPersonnel)
    marker = CityGenerator(1, seed).marker()
    summary.marker = marker
    with transaction.atomic():
        sink: _Sink = _PostgresSink() if postgres else _SqliteSink()
        sink.lock([m._meta.db_table for m in models])
        if Enterprise.objects.filter(uscc=marker[0], name=marker[1]).exists():
            summary.skipped = True
            summary.seconds = time.perf_counter() - started
            return summary
        sink.begin()
        now = timezone.now()
        ids = Ids(*(sink.next_id(m._meta.db_table) for m in models))
        generator = CityGenerator(
            n,
            seed,
            ids=ids,
            now=now.isoformat() if postgres else connection.ops.adapt_datetimefield_value(now),
            stamp=datetime.isoformat if postgres else connection.ops.adapt_datetimefield_value,
            today=timezone.localdate(),
            resolver=sink,
        )
        tables = {
            "enterprise": _Table(Enterprise, ENTERPRISE_COLUMNS),
            "person": _Table(Person, PERSON_COLUMNS),
            "shareholding": _Table(Shareholding, SHAREHOLDING_COLUMNS),
            "record": _Table(CreditRecord, RECORD_COLUMNS),
            "personnel": _Table(KeyPersonnel, PERSONNEL_COLUMNS),
        }
        timings: dict[str, float] = defaultdict(float)

        def write(key: str, rows: Iterable[Row]) -> None:
            t0 = time.perf_counter()
            sink.write(tables[key], rows)
            timings[key] += time.perf_counter() - t0

        for chunk in generator.chunks(chunk_size):
            write("person", generator.person_rows(chunk))
            write("enterprise", generator.enterprise_rows(chunk))
            write("shareholding", generator.shareholding_rows(chunk))
            write("record", generator.records(chunk))
            write("personnel", generator.personnel_rows(chunk))
            if progress is not None:
                progress(chunk.stop, n, dict(generator.counts))
        write("shareholding", generator.late_shareholding_rows())
        sink.finish([m._meta.db_table for m in models])
        transaction.on_commit(_graph_changed)
    counts = generator.counts
    summary.enterprises = counts["enterprises"]
    summary.persons = counts["persons"]
    summary.shareholdings = counts["shareholdings"]
    summary.records = counts["records"]
    summary.personnel = counts["personnel"]
    summary.timings = dict(timings)
    summary.seconds = time.perf_counter() - started
    return summary


class _Table:
    """A table's generated columns plus constant defaults for any other column (so that a field
    added to the model later does not break the bulk writer)."""

    def __init__(self, model: Any, columns: Sequence[str]):
        from django.db import connection
        from django.db.models import JSONField

        self.name: str = model._meta.db_table
        by_column = {f.column: f for f in model._meta.concrete_fields}
        missing = [c for c in columns if c not in by_column]
        if missing:
            raise RuntimeError(f"{self.name} has no column(s) {missing}")
        extra: list[tuple[str, Any]] = []
        for column, model_field in by_column.items():
            if column in columns:
                continue
            if not model_field.has_default() and not model_field.null:
                raise RuntimeError(f"{self.name}.{column} has no default: teach synthetic.py")
            value = model_field.get_default() if model_field.has_default() else None
            if isinstance(model_field, JSONField):
                value = json.dumps(value, ensure_ascii=False)
            elif value is not None:
                value = model_field.get_db_prep_save(value, connection)
                if connection.vendor == "postgresql" and not isinstance(value, str | int):
                    value = value.isoformat() if hasattr(value, "isoformat") else str(value)
            extra.append((column, value))
        self.columns = tuple(columns) + tuple(c for c, _v in extra)
        self.extra = tuple(v for _c, v in extra)


class _Sink(Resolver, Protocol):
    def lock(self, tables: list[str]) -> None: ...

    def begin(self) -> None: ...

    def next_id(self, table: str) -> int: ...

    def write(self, table: _Table, rows: Iterable[Row]) -> int: ...

    def finish(self, tables: list[str]) -> None: ...


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_line(row: Row) -> str:
    """One line of PostgreSQL's COPY text format."""
    line = "\t".join(["\\N" if v is None else v if type(v) is str else str(v) for v in row])
    # Fast path: no value holds a tab, newline, carriage return or backslash (each NULL adds one)
    if (
        line.count("\t") != len(row) - 1
        or line.count("\\") != row.count(None)
        or "\n" in line
        or "\r" in line
    ):
        line = "\t".join(["\\N" if v is None else str(v).translate(_COPY_ESCAPES) for v in row])
    return line + "\n"


class _PostgresSink:
    def __init__(self) -> None:
        from django.db import connection

        self.connection = connection
        # The driver's own cursor: Django's debug cursor would keep every 50k-value lookup in
        # connection.queries when DEBUG is on.
        self.cursor = connection.cursor().cursor

    def lock(self, tables: list[str]) -> None:
        # Other writers wait until we commit (so max(id) stays ours); readers are not blocked.
        quoted = ", ".join(self.connection.ops.quote_name(t) for t in tables)
        self.cursor.execute(f"LOCK TABLE {quoted} IN SHARE ROW EXCLUSIVE MODE")

    def begin(self) -> None:
        # Foreign keys are checked at the end of each COPY (parents are written first) instead of
        # queueing millions of trigger events until commit.
        self.cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")

    def next_id(self, table: str) -> int:
        self.cursor.execute(
            f"SELECT COALESCE(MAX(id), 0) + 1 FROM {self.connection.ops.quote_name(table)}"  # noqa: S608
        )
        return int(self.cursor.fetchone()[0])

    def existing_usccs(self, codes: Sequence[str]) -> set[str]:
        self.cursor.execute(
            "SELECT uscc FROM enterprises_enterprise WHERE uscc = ANY(%s)", [list(codes)]
        )
        return {r[0] for r in self.cursor.fetchall()}

    def existing_persons(self, hashes: Sequence[str]) -> dict[str, tuple[int, str]]:
        self.cursor.execute(
            "SELECT id_hash, id, name FROM enterprises_person WHERE id_hash = ANY(%s)",
            [list(hashes)],
        )
        return {h: (i, name) for h, i, name in self.cursor.fetchall()}

    def write(self, table: _Table, rows: Iterable[Row]) -> int:
        quote = self.connection.ops.quote_name
        sql = f"COPY {quote(table.name)} ({', '.join(quote(c) for c in table.columns)}) FROM STDIN"
        extra, count, buffer = table.extra, 0, []
        with self.cursor.copy(sql) as copy:
            for row in rows:
                buffer.append(copy_line(row + extra if extra else row))
                count += 1
                if len(buffer) >= 2000:
                    copy.write("".join(buffer))
                    buffer.clear()
            if buffer:
                copy.write("".join(buffer))
        return count

    def finish(self, tables: list[str]) -> None:
        for table in tables:
            quoted = self.connection.ops.quote_name(table)
            self.cursor.execute(
                "SELECT setval(pg_get_serial_sequence(%s, 'id'), "  # noqa: S608
                f"COALESCE((SELECT MAX(id) FROM {quoted}), 1), "
                f"(SELECT MAX(id) IS NOT NULL FROM {quoted}))",
                [quoted],
            )
        self.cursor.execute("SET CONSTRAINTS ALL DEFERRED")


class _SqliteSink:
    BATCH = 900  # bound parameters per IN (…)

    def __init__(self) -> None:
        from django.db import connection

        connection.ensure_connection()
        self.raw = connection.connection

    def lock(self, tables: list[str]) -> None:
        pass  # SQLite has one writer at a time anyway

    def begin(self) -> None:
        pass

    def next_id(self, table: str) -> int:
        sql = f'SELECT COALESCE(MAX(id), 0) + 1 FROM "{table}"'  # noqa: S608
        return int(self.raw.execute(sql).fetchone()[0])

    def _lookup(self, sql: str, values: Sequence[str]) -> list[tuple[Any, ...]]:
        found: list[tuple[Any, ...]] = []
        for k in range(0, len(values), self.BATCH):
            batch = values[k : k + self.BATCH]
            marks = ",".join("?" * len(batch))
            found += self.raw.execute(sql.format(marks=marks), batch).fetchall()
        return found

    def existing_usccs(self, codes: Sequence[str]) -> set[str]:
        rows = self._lookup(
            "SELECT uscc FROM enterprises_enterprise WHERE uscc IN ({marks})", codes
        )
        return {r[0] for r in rows}

    def existing_persons(self, hashes: Sequence[str]) -> dict[str, tuple[int, str]]:
        rows = self._lookup(
            "SELECT id_hash, id, name FROM enterprises_person WHERE id_hash IN ({marks})", hashes
        )
        return {h: (i, name) for h, i, name in rows}

    def write(self, table: _Table, rows: Iterable[Row]) -> int:
        columns = ", ".join(f'"{c}"' for c in table.columns)
        marks = ", ".join("?" * len(table.columns))
        extra = table.extra
        counter = [0]

        def counted() -> Iterator[Row]:
            for row in rows:
                counter[0] += 1
                yield row + extra if extra else row

        self.raw.executemany(f'INSERT INTO "{table.name}" ({columns}) VALUES ({marks})', counted())  # noqa: S608
        return counter[0]

    def finish(self, tables: list[str]) -> None:
        pass  # AUTOINCREMENT follows the largest id written


def progress_printer(stream: Any = None) -> Callable[[int, int, dict[str, int]], None]:
    """A progress callback that rewrites one line on a terminal."""
    out = stream or sys.stderr
    started = time.perf_counter()

    def report(done: int, total: int, counts: dict[str, int]) -> None:
        seconds = time.perf_counter() - started
        out.write(
            f"\r  {done:,}/{total:,} 家企业 ({done / total:.0%})  "
            f"自然人 {counts['persons']:,}  股权 {counts['shareholdings']:,}  "
            f"信用记录 {counts['records']:,}  {seconds:.0f}s"
        )
        if done >= total:
            out.write("\n")
        out.flush()

    return report
