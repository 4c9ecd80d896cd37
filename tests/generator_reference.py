"""Frozen reference: sample_data/generator.py as it was before the city-scale rewrite (issue 20), kept
unchanged so tests/test_generator_reference.py can check that the fast generator writes the same bytes.
Do not edit or import it from product code; it is only ever compared against.

Seeded, deterministic generator of the sample county 青山县's source exports.

    python -m sample_data.generator --seed 20240101 --scale 1 --out sample_data/exports

Writes six files that look like what real Chinese bureau systems export (see README.md):
approval_cases.csv (UTF-8 with BOM), approval_events.xes.gz (XES event log, gzip mtime 0),
petitions.csv (GB18030), land_use.xlsx, land_supply.csv, targets.csv. The same seed and scale
give byte-identical files. `scale` multiplies the number of cases and petitions; land tables
and targets do not scale.

Every personal identifier written here (names, 18-digit ID numbers with a valid check digit,
mobile numbers) is random and fake.

Time model: cases live on a "working-second" axis, 450 working minutes per working day
(08:30–12:00 and 13:30–17:30) on the Chinese official calendar (`chinese_calendar`, so holidays
and 调休 make-up days are respected). Every case timestamp is therefore inside office hours.
"""
from __future__ import annotations

import argparse
import datetime as dt
import gzip
import io
import re
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

# ----------------------------------------------------------------------------------------------
# The county
# ----------------------------------------------------------------------------------------------
COUNTY_CODE = "331199"
COUNTY_NAME = "青山县"
#: (code, name, case weight, petition weight, total area in ha)
TOWNSHIPS = [
    ("331199001", "城关镇", 0.24, 0.20, 6800.00),
    ("331199002", "东坪镇", 0.10, 0.09, 9500.00),
    ("331199003", "西河镇", 0.09, 0.09, 8200.00),
    ("331199004", "南山乡", 0.05, 0.06, 15600.00),
    ("331199005", "北岭镇", 0.08, 0.08, 12800.00),
    ("331199006", "清水乡", 0.05, 0.06, 11200.00),
    ("331199007", "石桥镇", 0.08, 0.08, 9900.00),
    ("331199008", "柳林乡", 0.05, 0.06, 13400.00),
    ("331199009", "白沙镇", 0.08, 0.08, 8700.00),
    ("331199010", "龙泉乡", 0.05, 0.06, 16800.00),
    ("331199011", "云溪镇", 0.08, 0.08, 10300.00),
    ("331199012", "枫林乡", 0.05, 0.06, 14500.00),
]
TOWN_CODES = [t[0] for t in TOWNSHIPS]
TOWN_NAMES = [t[1] for t in TOWNSHIPS]

START = dt.date(2024, 1, 1)          # first case / petition received
END = dt.date(2026, 10, 31)          # last day of the export (cut-off at its end)
REFORM_DATE = dt.date(2025, 3, 1)    # 网上办 reform: online+mobile share ~35% -> ~70%
BOTTLENECK_DATE = dt.date(2025, 7, 1)
BOTTLENECK_STAGE = "规划审核"          # review stage of 建设工程规划许可
INTEGRITY_HANDLER = "QS0417"
SPIKE_TOWN = "东坪镇"
SPIKE_TOPIC = "征地补偿"
SPIKE_FROM, SPIKE_TO = dt.date(2025, 9, 1), dt.date(2025, 11, 30)
SPRING_FESTIVAL = [  # official holiday windows (inclusive)
    (dt.date(2024, 2, 10), dt.date(2024, 2, 17)),
    (dt.date(2025, 1, 28), dt.date(2025, 2, 4)),
    (dt.date(2026, 2, 15), dt.date(2026, 2, 23)),
]
FIXED_XLSX_TIME = dt.datetime(2026, 10, 31, 18, 0, 0)

BASE_CASES_PER_WORKDAY = 10.0
BASE_PETITIONS_PER_DAY = 3.2

# working-time axis
AM_SEC = 210 * 60          # 08:30-12:00
DAY_SEC = 450 * 60         # + 13:30-17:30
WD = DAY_SEC               # one working day, in working seconds

DEPTS = {
    "不动产登记中心": [f"QS01{i:02d}" for i in range(1, 15)],
    "国土空间规划科": [f"QS04{i:02d}" for i in range(11, 19)],   # includes QS0417
    "耕地保护监督科": [f"QS03{i:02d}" for i in range(1, 5)],
    "自然资源开发利用科": [f"QS05{i:02d}" for i in range(1, 5)],
    "矿产资源管理科": [f"QS06{i:02d}" for i in range(1, 4)],
}

_RE = ["受理", "审核", "登簿", "办结"]
#: name, weight, department, statutory, promised, service items, flow, review stage, rework prob, outcome
CASE_TYPES = [
    ("不动产转移登记", 0.34, "不动产登记中心", 30, 3,
     ["国有建设用地使用权及房屋所有权转移登记", "存量房买卖转移登记", "继承、受遗赠转移登记"], _RE, "审核", 0.06, "准予登记"),
    ("不动产抵押登记", 0.22, "不动产登记中心", 30, 3,
     ["不动产抵押权首次登记", "不动产抵押权注销登记", "最高额抵押权登记"], _RE, "审核", 0.05, "准予登记"),
    ("不动产首次登记", 0.10, "不动产登记中心", 30, 5,
     ["国有建设用地使用权及房屋所有权首次登记", "宅基地使用权及房屋所有权首次登记", "国有建设用地使用权首次登记"],
     _RE, "审核", 0.08, "准予登记"),
    ("建设工程规划许可", 0.10, "国土空间规划科", 20, 10,
     ["建设工程规划许可证核发", "建设工程规划许可证变更"], ["受理", "规划审核", "审批", "办结"], "规划审核", 0.15,
     "准予许可"),
    ("建设用地预审", 0.06, "国土空间规划科", 20, 10,
     ["建设项目用地预审与选址意见书核发"], ["受理", "现场勘查", "初审", "审批", "办结"], "初审", 0.12, "通过预审"),
    ("临时用地审批", 0.08, "耕地保护监督科", 20, 7,
     ["临时用地审批"], ["受理", "现场勘查", "初审", "审批", "办结"], "初审", 0.10, "准予许可"),
    ("国有土地使用权出让", 0.05, "自然资源开发利用科", 30, 15,
     ["国有建设用地使用权出让方案审批", "国有建设用地使用权协议出让"],
     ["受理", "现场勘查", "初审", "公示", "审批", "办结"], "初审", 0.10, "准予许可"),
    ("采矿权登记", 0.05, "矿产资源管理科", 40, 20,
     ["采矿权新立登记", "采矿权延续登记", "采矿权变更登记"],
     ["受理", "初审", "现场勘查", "公示", "审批", "办结"], "初审", 0.15, "准予登记"),
]

#: stage -> (median total sojourn in working days, lognormal sigma, share of it spent waiting)
STAGES = {
    "受理": (0.03, 0.5, 0.0),
    "审核": (0.25, 0.45, 0.6),
    "登簿": (0.15, 0.4, 0.5),
    "办结": (0.10, 0.4, 0.5),
    "现场勘查": (1.6, 0.4, 0.6),
    "初审": (1.2, 0.45, 0.6),
    "规划审核": (1.0, 0.45, 0.6),
    "公示": (5.1, 0.01, 0.02),
    "审批": (0.6, 0.4, 0.6),
    "补正": (2.0, 0.6, 0.0),
    "撤回": (3.0, 0.6, 0.95),
}
BOTTLENECK_POST = (8.0, 0.75, 0.5)    # 规划审核 from 2025-07-01: median, sigma, waiting share

CHANNELS = ["窗口", "网上办理", "掌上办", "邮寄", "其他"]
CHANNEL_P_PRE = [0.60, 0.25, 0.10, 0.03, 0.02]
CHANNEL_P_POST = [0.27, 0.40, 0.30, 0.02, 0.01]
RATING_LABELS = {5: "非常满意(5)", 4: "满意(4)", 3: "基本满意(3)", 2: "不满意(2)", 1: "非常不满意(1)"}

PETITION_CHANNELS = ["来信", "来访", "网上信访", "12345热线", "其他"]
PETITION_CHANNEL_P = [0.15, 0.25, 0.30, 0.27, 0.03]
TOPICS = ["征地补偿", "不动产登记", "土地权属争议", "违法用地举报", "矿产开采", "规划许可", "耕地保护", "其他"]
TOPIC_P = [0.16, 0.20, 0.15, 0.18, 0.06, 0.08, 0.07, 0.10]
TOPIC_DEPT = {
    "征地补偿": "自然资源开发利用科", "不动产登记": "不动产登记中心", "土地权属争议": "{town}人民政府",
    "违法用地举报": "执法监察大队", "矿产开采": "矿产资源管理科", "规划许可": "国土空间规划科",
    "耕地保护": "耕地保护监督科", "其他": "局办公室",
}
VILLAGES = ["上村", "下湾村", "李家村", "新塘村", "桥头村", "长岭村", "大坑村", "后山村", "石门村", "荷花村",
            "水口村", "杨梅村", "黄泥岗村", "塘坞村", "高坪村", "溪口村", "枫树湾村", "竹园村"]
PROJECTS = ["青山产业园", "县道X205改建", "城东安置小区", "高铁站前片区", "水库扩容", "工业园二期", "物流园", "滨江路延伸"]
SUMMARIES = {
    "征地补偿": [
        "反映{town}{village}{year}年{project}项目征地补偿款约{amount}万元至今未足额发放，要求尽快兑现。",
        "对{town}{village}集体土地征收补偿标准有异议，认为青苗及地上附着物补偿偏低，要求重新评估。",
        "反映{village}被征地农民社会保障未落实，要求按政策办理养老保险。",
        "反映{project}项目征收其家{area}平方米承包地，补偿款被村集体截留，要求查处。",
    ],
    "不动产登记": [
        "其在{town}购买的商品房{year}年交付至今无法办理不动产权证书，要求协调开发商办证。",
        "反映办理不动产转移登记时被要求重复提交材料，要求简化办理流程。",
        "反映{village}宅基地房屋确权登记面积与实际不符，要求更正登记。",
        "反映不动产登记窗口排队时间长，网上办理系统无法提交。",
    ],
    "土地权属争议": [
        "与邻居就{village}宅基地界址存在争议，要求依法确权。",
        "反映{village}与相邻村集体林地权属不清，多次协商未果，要求调处。",
        "反映{town}{village}承包地被他人强行占用耕种，要求恢复原状。",
    ],
    "违法用地举报": [
        "举报{town}{village}有人在耕地上违法建房，占地约{area}平方米。",
        "举报{village}附近有企业未批先建，占用农用地堆放建材。",
        "举报{town}{village}有人非法占地建设养殖场。",
    ],
    "矿产开采": [
        "反映{town}{village}附近采石场越界开采，爆破噪声扰民。",
        "举报{village}河道内有人夜间非法采砂。",
        "反映{town}矿山开采后未按要求复垦，造成水土流失。",
    ],
    "规划许可": [
        "对{town}某小区建设工程规划许可批前公示有异议，认为影响其住宅采光。",
        "反映{town}沿街商铺擅自改变规划用途，要求查处。",
        "反映{village}村庄规划未征求村民意见，要求公开。",
    ],
    "耕地保护": [
        "反映{village}永久基本农田被占用种植苗木，要求整改。",
        "反映{town}{village}耕地被挖塘养鱼，面积约{area}平方米。",
        "反映{village}大片耕地撂荒，要求落实耕地保护责任。",
    ],
    "其他": [
        "咨询{town}农村宅基地审批政策及办理流程。",
        "反映自然资源局窗口工作人员服务态度差，要求整改。",
        "建议在{town}设立不动产登记便民服务点。",
    ],
}

LAND_CATEGORIES = [
    ("00", "湿地"), ("01", "耕地"), ("02", "园地"), ("03", "林地"), ("04", "草地"), ("05", "商服用地"),
    ("06", "工矿仓储用地"), ("07", "住宅用地"), ("08", "公共管理与公共服务用地"), ("09", "特殊用地"),
    ("10", "交通运输用地"), ("11", "水域及水利设施用地"), ("12", "其他土地"),
]
LAND_YEARS = list(range(2018, 2026))
#: cultivated land (01) drift per year, as a share of the 2018 area, in the two named townships
CULTIVATED_DRIFT = {"城关镇": 0.026, "东坪镇": 0.013}
#: targets (耕地保有量) as a share of the 2018 area: (2025, 2030)
CULTIVATED_TARGET = {"城关镇": (0.84, 0.83), "东坪镇": (0.89, 0.89)}
CULTIVATED_TARGET_OTHER = (0.95, 0.95)

SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛郝龚邵万钱严武戴莫孔汤")
GIVEN = list("伟芳娜敏静丽强磊军洋勇艳杰涛明超秀霞平刚桂英华建国文辉红玲峰春梅兰林海燕鹏飞志宏斌宇浩凯晨欣怡子涵俊荣福生德成永祥")
ID_PREFIXES = ["331199", "331199", "331199", "331199", "331199", "331102", "331121", "330102", "330681", "362321"]
ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
ID_CHECK = np.array(list("10X98765432"))
PHONE_PREFIXES = ["130", "131", "132", "135", "136", "137", "138", "139", "150", "151", "152", "155", "158",
                  "159", "177", "180", "181", "186", "187", "188", "189", "199"]


# ----------------------------------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------------------------------
def _is_workday(d: dt.date) -> bool:
    import chinese_calendar

    try:
        return bool(chinese_calendar.is_workday(d))
    except NotImplementedError:  # year not covered by the library: Monday-Friday
        return d.weekday() < 5


def _working_days(first: dt.date, last: dt.date) -> np.ndarray:
    days = pd.date_range(first, last, freq="D").date
    return np.array([d for d in days if _is_workday(d)], dtype="datetime64[D]")


def _offset_to_ts(offsets: np.ndarray, workdays: np.ndarray) -> np.ndarray:
    """Working-second offsets -> naive local datetime64[s] inside office hours."""
    d = np.minimum(offsets // DAY_SEC, len(workdays) - 1)
    s = offsets % DAY_SEC
    clock = np.where(s < AM_SEC, 8 * 3600 + 1800 + s, 13 * 3600 + 1800 + (s - AM_SEC))
    return workdays[d].astype("datetime64[s]") + clock.astype("timedelta64[s]")


def _fmt_ts(ts: np.ndarray) -> np.ndarray:
    """datetime64[s] -> '2024-03-05 14:02:37' (NaT -> '')."""
    out = np.datetime_as_string(ts, unit="s")
    out = np.char.replace(out.astype(str), "T", " ")
    return np.where(np.isnat(ts), "", out)


def _fmt_date(days: np.ndarray) -> np.ndarray:
    out = np.datetime_as_string(days, unit="D").astype(str)
    return np.where(np.isnat(days), "", out)


def id_check_digit(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character of a Chinese resident ID number (GB 11643)."""
    total = sum(int(c) * w for c, w in zip(first17, ID_WEIGHTS))
    return str(ID_CHECK[total % 11])


def _people(rng: np.random.Generator, n: int) -> pd.DataFrame:
    """n fake people: name, 18-digit ID number (valid check digit), mobile number."""
    sur = np.array(SURNAMES)[rng.integers(0, len(SURNAMES), n)]
    g1 = np.array(GIVEN)[rng.integers(0, len(GIVEN), n)]
    g2 = np.array(GIVEN)[rng.integers(0, len(GIVEN), n)]
    two = rng.random(n) < 0.3
    names = pd.Series(sur, dtype=object) + pd.Series(g1, dtype=object) + pd.Series(np.where(two, "", g2), dtype=object)
    prefix = np.array(ID_PREFIXES)[rng.integers(0, len(ID_PREFIXES), n)]
    birth = np.datetime64("1950-01-01") + rng.integers(0, (np.datetime64("2004-12-31") - np.datetime64("1950-01-01")).astype(int), n)
    birth_s = np.char.replace(np.datetime_as_string(birth, unit="D").astype(str), "-", "")
    seq = pd.Series(rng.integers(0, 1000, n)).astype(str).str.zfill(3)
    first17 = pd.Series(prefix, dtype=object) + pd.Series(birth_s, dtype=object) + seq
    digits = np.frombuffer("".join(first17).encode("ascii"), dtype=np.uint8).reshape(n, 17).astype(np.int64) - 48
    check = ID_CHECK[(digits @ ID_WEIGHTS) % 11]
    ids = first17 + pd.Series(check, dtype=object)
    phones = (pd.Series(np.array(PHONE_PREFIXES)[rng.integers(0, len(PHONE_PREFIXES), n)], dtype=object)
              + pd.Series(rng.integers(0, 10**8, n)).astype(str).str.zfill(8))
    return pd.DataFrame({"name": names.values, "id": ids.values, "phone": phones.values})


def _lognormal(rng, median, sigma, n):
    return median * np.exp(sigma * rng.standard_normal(n))


def _sf_factor(days: np.ndarray, holiday: float, before: float, after: float) -> np.ndarray:
    """Multiplier for dates in/around the Spring Festival holiday windows."""
    f = np.ones(len(days))
    for a, b in SPRING_FESTIVAL:
        a64, b64 = np.datetime64(a), np.datetime64(b)
        f[(days >= a64) & (days <= b64)] = holiday
        f[(days >= a64 - 7) & (days < a64)] = before
        f[(days > b64) & (days <= b64 + 7)] = after
    return f


def _write_csv(df: pd.DataFrame, path: Path, encoding: str, crlf: bool = False) -> None:
    text = df.to_csv(index=False, lineterminator="\r\n" if crlf else "\n")
    path.write_bytes(text.encode(encoding))


# ----------------------------------------------------------------------------------------------
# Cases and events
# ----------------------------------------------------------------------------------------------
def _cases_and_events(rng: np.random.Generator, scale: float, workdays: np.ndarray):
    wd_days = workdays
    i0 = int(np.searchsorted(wd_days, np.datetime64(START)))
    i1 = int(np.searchsorted(wd_days, np.datetime64(END), side="right"))
    days = wd_days[i0:i1]
    dow = (days.astype("datetime64[D]").view("int64") - 4) % 7  # 0 = Monday
    dow_f = np.array([1.2, 1.05, 1.0, 1.0, 0.9, 0.75, 0.75])[dow]
    years = (days - np.datetime64(START)).astype(int) / 365.0
    lam = (BASE_CASES_PER_WORKDAY * scale * dow_f * (1 + 0.06 * years)
           * _sf_factor(days, 0.0, 0.5, 0.6) * rng.gamma(20, 1 / 20, len(days)))
    per_day = rng.poisson(lam)
    n = int(per_day.sum())
    day_idx = np.repeat(np.arange(i0, i1), per_day)
    # arrivals: mornings busier; keep the 受理 inside the day
    sec = np.where(rng.random(n) < 0.58, rng.integers(0, AM_SEC - 600, n), rng.integers(AM_SEC, DAY_SEC - 900, n))
    received = day_idx.astype(np.int64) * DAY_SEC + sec
    order = np.lexsort((sec, day_idx))
    received, day_idx = received[order], day_idx[order]
    recv_ts = _offset_to_ts(received, wd_days)
    recv_day = recv_ts.astype("datetime64[D]")

    # case ids: QS + yyyymmdd + 5-digit daily sequence
    first_of_day = np.r_[True, day_idx[1:] != day_idx[:-1]]
    grp_start = np.maximum.accumulate(np.where(first_of_day, np.arange(n), 0))
    seq = np.arange(n) - grp_start + 1
    case_id = ("QS" + pd.Series(np.char.replace(np.datetime_as_string(recv_day).astype(str), "-", ""), dtype=object)
               + pd.Series(seq).astype(str).str.zfill(5)).values

    tw = np.array([t[1] for t in CASE_TYPES])
    ctype = rng.choice(len(CASE_TYPES), n, p=tw / tw.sum())
    town_w = np.array([t[2] for t in TOWNSHIPS])
    town = rng.choice(len(TOWNSHIPS), n, p=town_w / town_w.sum())
    post_reform = recv_day >= np.datetime64(REFORM_DATE)
    u = rng.random(n)
    cum_pre, cum_post = np.cumsum(CHANNEL_P_PRE), np.cumsum(CHANNEL_P_POST)
    channel = np.where(post_reform, np.searchsorted(cum_post, u * cum_post[-1], side="right"),
                       np.searchsorted(cum_pre, u * cum_pre[-1], side="right"))
    item = np.empty(n, dtype=object)
    for t, spec in enumerate(CASE_TYPES):
        m = ctype == t
        item[m] = np.array(spec[5], dtype=object)[rng.integers(0, len(spec[5]), m.sum())]

    # plan: 0 closed, 1 withdrawn, 2 rejected (不予受理)
    r = rng.random(n)
    plan = np.where(r < 0.012, 2, np.where(r < 0.027, 1, 0))
    rework_p = np.array([t[8] for t in CASE_TYPES])[ctype]
    rework = (rng.random(n) < rework_p) & (plan == 0)
    rework2 = rework & (rng.random(n) < 0.15)

    # integrity-risk cases: 建设用地预审 received 2025-04-01 .. 2026-06-30, closed, no rework
    t_pre = [s[0] for s in CASE_TYPES].index("建设用地预审")
    cand = np.flatnonzero((ctype == t_pre) & (plan == 0) & (~rework)
                          & (recv_day >= np.datetime64("2025-04-01")) & (recv_day <= np.datetime64("2026-06-30")))
    n_int = min(len(cand), max(1, int(round(15 * scale))))
    integrity = np.zeros(n, dtype=bool)
    if n_int:
        integrity[np.sort(rng.choice(cand, n_int, replace=False))] = True

    # ---- event rows ------------------------------------------------------------------------
    rc, rp, rs, rres = [], [], [], []   # case, position, stage, result
    for t, spec in enumerate(CASE_TYPES):
        flow, review = spec[6], spec[7]
        rv = flow.index(review)
        idx = np.flatnonzero(ctype == t)
        k = len(flow)
        c = np.repeat(idx, k)
        p = np.tile(np.arange(k) * 10, len(idx))
        s = np.tile(np.array(flow, dtype=object), len(idx))
        res = np.full(len(c), "pass", dtype=object)
        pl = plan[c]
        keep = ~((pl == 2) & (p > 0)) & ~((pl == 1) & (p > rv * 10))
        res[(pl == 2) & (p == 0)] = "reject"
        res[(pl == 1) & (p == rv * 10)] = "return"
        res[rework[c] & (p == rv * 10)] = "return"
        integ = integrity[c] & ~np.isin(s, ["受理", "审批", "办结"])
        keep &= ~integ
        rc.append(c[keep]); rp.append(p[keep]); rs.append(s[keep]); rres.append(res[keep])
        w = idx[plan[idx] == 1]            # withdrawal after a return
        rc.append(w); rp.append(np.full(len(w), rv * 10 + 1)); rs.append(np.full(len(w), "撤回", dtype=object))
        rres.append(np.full(len(w), "other", dtype=object))
        for cases_, extra in ((idx[rework[idx]], 1), (idx[rework2[idx]], 3)):
            m = len(cases_)
            rc += [cases_, cases_]
            rp += [np.full(m, rv * 10 + extra), np.full(m, rv * 10 + extra + 1)]
            rs += [np.full(m, "补正", dtype=object), np.full(m, review, dtype=object)]
            res2 = np.full(m, "pass", dtype=object)
            if extra == 1:
                res2[rework2[cases_]] = "return"
            rres += [np.full(m, "pass", dtype=object), res2]
    ev_case = np.concatenate(rc)
    ev_pos = np.concatenate(rp)
    ev_stage = np.concatenate(rs)
    ev_res = np.concatenate(rres)
    o = np.lexsort((ev_pos, ev_case))
    ev_case, ev_pos, ev_stage, ev_res = ev_case[o], ev_pos[o], ev_stage[o], ev_res[o]
    m_ev = len(ev_case)

    # durations (working seconds)
    total = np.zeros(m_ev)
    wfrac = np.zeros(m_ev)
    for st, (med, sig, wf) in STAGES.items():
        mm = ev_stage == st
        cnt = int(mm.sum())
        total[mm] = _lognormal(rng, med, sig, cnt)
        wfrac[mm] = np.clip(wf + rng.uniform(-0.1, 0.1, cnt), 0, 0.98) if wf > 0 else 0.0
    repeat_pass = (ev_pos % 10 == 2) | (ev_pos % 10 == 4)   # the review repeated after a 补正
    total[repeat_pass] *= 0.5                      # a re-review after 补正 is quicker
    integ_ev = integrity[ev_case]
    total[integ_ev] = rng.uniform(0.005, 0.03, int(integ_ev.sum()))   # minutes, not days
    wfrac[integ_ev & (ev_stage != "受理")] = 0.5
    post_params = rng.standard_normal(m_ev)        # drawn for every row: deterministic layout

    first = np.r_[True, ev_case[1:] != ev_case[:-1]]
    starts = np.flatnonzero(first)
    lengths = np.diff(np.r_[starts, m_ev])
    base = received[ev_case]

    def _complete(tot_sec):
        cs = np.cumsum(tot_sec)
        before = np.repeat(np.r_[0, cs[starts[1:] - 1]], lengths)
        return base + (cs - before)

    tot_sec = np.maximum(np.rint(total * WD).astype(np.int64), 30)
    comp = _complete(tot_sec)
    # bottleneck: 规划审核 reached on/after 2025-07-01 takes far longer
    b_off = np.searchsorted(workdays, np.datetime64(BOTTLENECK_DATE)) * DAY_SEC
    prev_comp = comp - tot_sec
    hit = (ev_stage == BOTTLENECK_STAGE) & (prev_comp >= b_off)
    med, sig, wf = BOTTLENECK_POST
    newt = med * np.exp(sig * post_params[hit])
    newt[repeat_pass[hit]] *= 0.5
    tot_sec[hit] = np.rint(newt * WD).astype(np.int64)
    wfrac[hit] = np.clip(wf + rng.uniform(-0.1, 0.1, int(hit.sum())), 0, 0.98)
    comp = _complete(tot_sec)
    start = comp - tot_sec + np.rint(tot_sec * wfrac).astype(np.int64)

    # handlers
    dept_of_type = np.array([t[2] for t in CASE_TYPES], dtype=object)
    ev_dept = dept_of_type[ctype[ev_case]]
    handler = np.empty(m_ev, dtype=object)
    for dname, pool in DEPTS.items():
        mm = ev_dept == dname
        wts = rng.dirichlet(np.full(len(pool), 4.0))
        handler[mm] = np.array(pool, dtype=object)[rng.choice(len(pool), int(mm.sum()), p=wts)]
    handler[integ_ev] = INTEGRITY_HANDLER

    # cut-off: only what had happened by the end of END is in the export
    cutoff = np.searchsorted(workdays, np.datetime64(END + dt.timedelta(days=1))) * DAY_SEC
    visible = comp < cutoff
    has_hidden = np.zeros(n, dtype=bool)
    has_hidden[ev_case[~visible]] = True
    last_comp = np.full(n, -1, dtype=np.int64)
    vis_case = ev_case[visible]
    np.maximum.at(last_comp, vis_case, comp[visible])
    has_any = np.zeros(n, dtype=bool)
    has_any[vis_case] = True
    is_open = has_hidden | ~has_any

    status = np.where(is_open, "在办", np.select([plan == 2, plan == 1], ["不予受理", "已撤回"], "已办结"))
    closed_off = np.where(is_open, -1, last_comp)
    closed_ts = np.where(is_open, np.datetime64("NaT"), _offset_to_ts(np.maximum(closed_off, 0), workdays))
    outcome = np.where(status == "已办结", np.array([t[9] for t in CASE_TYPES], dtype=object)[ctype],
                       np.select([status == "不予受理", status == "已撤回"], ["不予受理", "申请人撤回"], ""))
    outcome[integrity & (status == "已办结")] = "通过预审"
    statutory = np.array([t[3] for t in CASE_TYPES])[ctype]
    promised = np.array([t[4] for t in CASE_TYPES])[ctype]
    # working days elapsed (date-granular: closed the day received = 0)
    elapsed_wd = np.where(is_open, -1, closed_off // DAY_SEC - received // DAY_SEC)
    on_time = (status == "已办结") & (elapsed_wd <= promised)

    # visits (跑动次数)
    ch = channel
    p0 = np.where(post_reform, 0.85, 0.60)
    visits = np.where(ch == 0, 1, np.where(ch == 3, 0, np.where(ch == 4, 1, np.where(rng.random(n) < p0, 0, 1))))
    visits = visits + np.where(ch == 0, rework.astype(int) + rework2.astype(int), 0)

    # ratings (好差评): ~50% of closed cases rate; overdue cases rate worse
    rated = (status == "已办结") & (rng.random(n) < 0.5)
    good_p = np.cumsum([0.01, 0.02, 0.05, 0.22, 0.70])
    bad_p = np.cumsum([0.10, 0.15, 0.20, 0.30, 0.25])
    ur = rng.random(n)
    rating = np.where(on_time, np.searchsorted(good_p, ur * good_p[-1], side="right"),
                      np.searchsorted(bad_p, ur * bad_p[-1], side="right")) + 1
    rating_txt = np.where(rated, pd.Series(rating).map(RATING_LABELS).values, "")

    # applicants: a pool with some repeat applicants
    people = _people(rng, max(1, int(n * 0.8)))
    who = rng.integers(0, len(people), n)

    cases = pd.DataFrame({
        "办件编号": case_id,
        "事项类型": np.array([t[0] for t in CASE_TYPES], dtype=object)[ctype],
        "事项名称": item,
        "承办科室": dept_of_type[ctype],
        "所属乡镇": np.array(TOWN_NAMES, dtype=object)[town],
        "申请渠道": np.array(CHANNELS, dtype=object)[channel],
        "受理时间": _fmt_ts(recv_ts),
        "办结时间": _fmt_ts(closed_ts),
        "办件状态": status,
        "办理结果": outcome,
        "法定时限（工作日）": statutory,
        "承诺时限（工作日）": promised,
        "跑动次数": visits,
        "评价": rating_txt,
        "申请人": people["name"].values[who],
        "申请人身份证号": people["id"].values[who],
        "联系电话": people["phone"].values[who],
    })

    ev = pd.DataFrame({
        "case": ev_case[visible], "stage": ev_stage[visible], "result": ev_res[visible],
        "start": start[visible], "complete": comp[visible], "handler": handler[visible],
        "dept": ev_dept[visible],
    })
    diag = {
        "n_cases": n, "on_time_rate": float(on_time.sum() / max(1, (status == "已办结").sum())),
        "integrity_cases": list(case_id[integrity]), "status_counts": pd.Series(status).value_counts().to_dict(),
        "rated_share": float(rated.sum() / max(1, (status == "已办结").sum())),
    }
    return cases, ev, case_id, ctype, diag


def _write_xes(path: Path, ev: pd.DataFrame, case_id: np.ndarray, ctype: np.ndarray, cases: pd.DataFrame,
               workdays: np.ndarray) -> int:
    """Stream an XES log: strings are built column-wise and written in chunks (no DOM)."""
    header = (
        '<?xml version="1.0" encoding="UTF-8" ?>\n'
        '<!-- 青山县自然资源局 政务服务审批系统 办件过程日志导出 -->\n'
        '<log xes.version="1.0" xes.features="nested-attributes" openxes.version="1.0RC7" '
        'xmlns="http://www.xes-standard.org/">\n'
        '\t<extension name="Lifecycle" prefix="lifecycle" uri="http://www.xes-standard.org/lifecycle.xesext"/>\n'
        '\t<extension name="Organizational" prefix="org" uri="http://www.xes-standard.org/org.xesext"/>\n'
        '\t<extension name="Time" prefix="time" uri="http://www.xes-standard.org/time.xesext"/>\n'
        '\t<extension name="Concept" prefix="concept" uri="http://www.xes-standard.org/concept.xesext"/>\n'
        '\t<global scope="trace">\n\t\t<string key="concept:name" value="__INVALID__"/>\n\t</global>\n'
        '\t<global scope="event">\n\t\t<string key="concept:name" value="__INVALID__"/>\n'
        '\t\t<string key="lifecycle:transition" value="complete"/>\n'
        '\t\t<date key="time:timestamp" value="1970-01-01T08:00:00.000+08:00"/>\n\t</global>\n'
        '\t<classifier name="Activity" keys="concept:name"/>\n'
        '\t<classifier name="activity classifier" keys="concept:name lifecycle:transition"/>\n'
        '\t<string key="concept:name" value="青山县政务服务审批系统"/>\n'
    )
    n = len(ev)
    case = ev["case"].to_numpy()
    first = np.r_[True, case[1:] != case[:-1]] if n else np.zeros(0, bool)
    last = np.r_[case[1:] != case[:-1], True] if n else np.zeros(0, bool)
    type_names = np.array([t[0] for t in CASE_TYPES], dtype=object)
    towns = cases["所属乡镇"].to_numpy(dtype=object)
    chunk = 50_000
    with open(path, "wb") as raw, gzip.GzipFile(filename="approval_events.xes", mode="wb", fileobj=raw,
                                                mtime=0, compresslevel=6) as gz:
        gz.write(header.encode("utf-8"))
        for a in range(0, n, chunk):
            b = min(n, a + chunk)
            c = case[a:b]
            ts_s = pd.Series(np.datetime_as_string(_offset_to_ts(ev["start"].to_numpy()[a:b], workdays), unit="s"), dtype=object)
            ts_c = pd.Series(np.datetime_as_string(_offset_to_ts(ev["complete"].to_numpy()[a:b], workdays), unit="s"), dtype=object)
            stage = pd.Series(ev["stage"].to_numpy()[a:b], dtype=object)
            res = pd.Series(ev["handler"].to_numpy()[a:b], dtype=object)
            grp = pd.Series(ev["dept"].to_numpy()[a:b], dtype=object)
            result = pd.Series(ev["result"].to_numpy()[a:b], dtype=object)
            common = ('"/>\n\t\t\t<string key="org:resource" value="' + res
                      + '"/>\n\t\t\t<string key="org:group" value="' + grp + '"/>\n')
            body = ('\t\t<event>\n\t\t\t<string key="concept:name" value="' + stage
                    + '"/>\n\t\t\t<string key="lifecycle:transition" value="start"/>\n'
                    + '\t\t\t<date key="time:timestamp" value="' + ts_s + '.000+08:00' + common
                    + '\t\t</event>\n\t\t<event>\n\t\t\t<string key="concept:name" value="' + stage
                    + '"/>\n\t\t\t<string key="lifecycle:transition" value="complete"/>\n'
                    + '\t\t\t<date key="time:timestamp" value="' + ts_c + '.000+08:00' + common
                    + '\t\t\t<string key="result" value="' + result + '"/>\n\t\t</event>\n')
            f = first[a:b]
            head = pd.Series("", index=body.index, dtype=object)
            head[f] = ('\t<trace>\n\t\t<string key="concept:name" value="' + pd.Series(case_id[c[f]], dtype=object)
                       + '"/>\n\t\t<string key="事项类型" value="' + pd.Series(type_names[ctype[c[f]]], dtype=object)
                       + '"/>\n\t\t<string key="所属乡镇" value="' + pd.Series(towns[c[f]], dtype=object)
                       + '"/>\n').values
            tail = pd.Series(np.where(last[a:b], "\t</trace>\n", ""), index=body.index, dtype=object)
            gz.write("".join(head + body + tail).encode("utf-8"))
        gz.write(b"</log>\n")
    return n


# ----------------------------------------------------------------------------------------------
# Petitions
# ----------------------------------------------------------------------------------------------
def _petitions(rng: np.random.Generator, scale: float) -> tuple[pd.DataFrame, dict]:
    days = np.arange(np.datetime64(START), np.datetime64(END) + 1)
    work = np.array([_is_workday(d) for d in days.astype(object)])
    lam = BASE_PETITIONS_PER_DAY * scale * np.where(work, 1.0, 0.35) * _sf_factor(days, 0.3, 0.7, 0.7)
    per_day = rng.poisson(lam)
    n0 = int(per_day.sum())
    recv = np.repeat(days, per_day)
    tw = np.array([t[3] for t in TOWNSHIPS])
    town = rng.choice(len(TOWNSHIPS), n0, p=tw / tw.sum())
    topic = rng.choice(len(TOPICS), n0, p=np.array(TOPIC_P) / sum(TOPIC_P))
    spike = np.zeros(n0, dtype=bool)

    # planted spike: 征地补偿 in 东坪镇, 2025-09-01 .. 2025-11-30 (~1 per working day extra)
    sdays = days[(days >= np.datetime64(SPIKE_FROM)) & (days <= np.datetime64(SPIKE_TO))]
    swork = np.array([_is_workday(d) for d in sdays.astype(object)])
    s_per = rng.poisson(1.0 * scale * np.where(swork, 1.0, 0.3))
    ns = int(s_per.sum())
    recv = np.r_[recv, np.repeat(sdays, s_per)]
    town = np.r_[town, np.full(ns, TOWN_NAMES.index(SPIKE_TOWN))]
    topic = np.r_[topic, np.full(ns, TOPICS.index(SPIKE_TOPIC))]
    spike = np.r_[spike, np.ones(ns, dtype=bool)]
    n1 = len(recv)
    people = _people(rng, max(1, int(n1 * 0.9)))
    who = rng.integers(0, len(people), n1)
    # spike petitioners come from a smaller group of affected villagers
    who[spike] = rng.integers(0, max(1, int(ns * 0.5)), ns)

    # repeat petitions: same petitioner and topic within 90 days
    rep = rng.random(n1) < np.where(spike, 0.25, 0.12)
    src = np.flatnonzero(rep)
    r_recv = recv[src] + rng.integers(7, 86, len(src)).astype("timedelta64[D]")
    ok = r_recv <= np.datetime64(END)
    src, r_recv = src[ok], r_recv[ok]
    recv = np.r_[recv, r_recv]
    town = np.r_[town, town[src]]
    topic = np.r_[topic, topic[src]]
    spike = np.r_[spike, spike[src]]
    who = np.r_[who, who[src]]
    is_repeat = np.r_[np.zeros(n1, bool), np.ones(len(src), bool)]
    n = len(recv)

    channel = rng.choice(len(PETITION_CHANNELS), n, p=PETITION_CHANNEL_P)
    # visits happen on working days only: move weekend/holiday visits to the next working day
    visit = channel == PETITION_CHANNELS.index("来访")
    if visit.any():
        wd_all = _working_days(START - dt.timedelta(days=1), END + dt.timedelta(days=30))
        pos = np.searchsorted(wd_all, recv[visit])
        nxt = wd_all[pos]
        recv[visit] = np.where(nxt > np.datetime64(END), wd_all[pos - 1], nxt)
    o = np.lexsort((rng.random(n), recv))
    recv, town, topic, spike, who, channel, is_repeat = (a[o] for a in (recv, town, topic, spike, who, channel, is_repeat))

    # dates
    u = rng.random(n)
    acc_lag = np.where(u < 0.85, rng.integers(0, 6, n), np.where(u < 0.96, rng.integers(6, 16, n), rng.integers(16, 31, n)))
    accepted = recv + acc_lag.astype("timedelta64[D]")
    extended = rng.random(n) < 0.07
    u = rng.random(n)
    rep_lag = np.where(u < 0.92, rng.integers(10, 46, n), np.where(u < 0.96, rng.integers(46, 59, n), rng.integers(61, 86, n)))
    ext_lag = np.where(rng.random(n) < 0.9, rng.integers(60, 89, n), rng.integers(91, 111, n))
    rep_lag = np.where(extended, ext_lag, rep_lag)
    replied = accepted + rep_lag.astype("timedelta64[D]")
    closed = replied + rng.integers(0, 31, n).astype("timedelta64[D]")
    end = np.datetime64(END)
    nat = np.datetime64("NaT")
    status = np.select([accepted > end, replied > end, closed > end], ["待受理", "已受理", "已答复"], "已办结")
    accepted = np.where(accepted > end, nat, accepted)
    replied = np.where(replied > end, nat, replied)
    closed = np.where(closed > end, nat, closed)
    us = rng.random(n)
    sat_good = np.where(us < 0.62, "满意", np.where(us < 0.87, "基本满意", "不满意"))
    sat_spike = np.where(us < 0.30, "满意", np.where(us < 0.60, "基本满意", "不满意"))
    sat = np.where(spike, sat_spike, sat_good)
    sat = np.where((status == "已办结") & (rng.random(n) < 0.72), sat, "")

    town_names = np.array(TOWN_NAMES, dtype=object)[town]
    topic_names = np.array(TOPICS, dtype=object)[topic]
    dept = np.array([TOPIC_DEPT[t].format(town=tn) for t, tn in zip(topic_names, town_names)], dtype=object)

    # summaries from templates; some embed a phone or ID number (for the ETL's scrubbing)
    tpl_pick = rng.random(n)
    vil = np.array(VILLAGES, dtype=object)[rng.integers(0, len(VILLAGES), n)]
    proj = np.array(PROJECTS, dtype=object)[rng.integers(0, len(PROJECTS), n)]
    yr = rng.integers(2016, 2025, n)
    amt = rng.integers(3, 80, n)
    area = rng.integers(2, 60, n) * 10
    pii = rng.random(n)
    ph = people["phone"].values[who]
    ids = people["id"].values[who]
    summ = []
    for i in range(n):
        tpls = SUMMARIES[topic_names[i]]
        tpl = tpls[0] if spike[i] else tpls[int(tpl_pick[i] * len(tpls))]
        s = tpl.format(town=town_names[i], village=vil[i], project=proj[i], year=yr[i], amount=amt[i], area=area[i])
        if is_repeat[i]:
            s = "再次" + s if not s.startswith("再次") else s
        if pii[i] < 0.05:
            s += f"请回电{ph[i]}。"
        elif pii[i] < 0.08:
            s += f"（信访人身份证号{ids[i]}，联系电话{ph[i]}）"
        summ.append(s)

    # petition ids: XF + yyyymmdd + 4-digit daily sequence
    first_of_day = np.r_[True, recv[1:] != recv[:-1]]
    grp_start = np.maximum.accumulate(np.where(first_of_day, np.arange(n), 0))
    seq = np.arange(n) - grp_start + 1
    pid = ("XF" + pd.Series(np.char.replace(np.datetime_as_string(recv).astype(str), "-", ""), dtype=object)
           + pd.Series(seq).astype(str).str.zfill(4)).values

    df = pd.DataFrame({
        "信访件编号": pid,
        "登记日期": _fmt_date(recv),
        "信访方式": np.array(PETITION_CHANNELS, dtype=object)[channel],
        "问题类别": topic_names,
        "所属乡镇": town_names,
        "责任单位": dept,
        "信访人": people["name"].values[who],
        "身份证号": ids,
        "联系电话": ph,
        "受理日期": _fmt_date(accepted),
        "答复日期": _fmt_date(replied),
        "办结日期": _fmt_date(closed),
        "是否延期": np.where(extended & (status != "待受理"), "是", "否"),
        "满意度": sat,
        "内容摘要": summ,
        "办理状态": status,
    })
    return df, {"n_petitions": n, "spike_petitions": int(spike.sum()), "repeats": int(is_repeat.sum())}


# ----------------------------------------------------------------------------------------------
# Land use, land supply, targets
# ----------------------------------------------------------------------------------------------
def _land_use(rng: np.random.Generator) -> tuple[pd.DataFrame, dict]:
    """Areas in integer hundredths of a hectare, so totals are exactly constant across years."""
    base_share = np.array([0.005, 0.12, 0.04, 0.62, 0.02, 0.004, 0.010, 0.035, 0.008, 0.001, 0.018, 0.03, 0.0])
    growth = {5: 0.025, 6: 0.018, 7: 0.015, 8: 0.012, 10: 0.016}   # built-up categories, per year
    rows, c2018 = [], {}
    for code, name, _, _, total_ha in TOWNSHIPS:
        total = int(round(total_ha * 100))
        share = base_share * rng.uniform(0.8, 1.2, len(base_share))
        if name == "城关镇":
            share[[1, 3, 5, 6, 7, 8, 10]] = [0.20, 0.42, 0.015, 0.03, 0.08, 0.02, 0.03]
        elif name == "东坪镇":
            share[[1, 3, 6]] = [0.18, 0.52, 0.02]
        share[:12] *= 0.91 / share[:12].sum()   # 其他土地 ≈ 9%
        area = np.floor(share * total).astype(np.int64)
        area[12] = 0
        area[12] = total - area.sum()          # 其他土地 takes the remainder
        cult0 = area[1]
        c2018[name] = cult0 / 100
        for year in LAND_YEARS:
            if year > LAND_YEARS[0]:
                inc = {k: int(round(area[k] * g * rng.uniform(0.6, 1.4))) for k, g in growth.items()}
                for k, v in inc.items():
                    area[k] += v
                built = sum(inc.values())
                if name in CULTIVATED_DRIFT:
                    loss = int(round(cult0 * CULTIVATED_DRIFT[name] * rng.uniform(0.85, 1.15)))
                else:
                    loss = int(round(cult0 * rng.normal(0.0, 0.0015)))   # 占补平衡: tiny net change
                area[1] -= loss
                forest = int(round(max(0, built - max(loss, 0)) * 0.6))
                area[3] -= forest
                if loss > built:                      # 耕地 lost beyond built-up growth: half to 园地
                    area[2] += (loss - built) // 2
                area[4] -= int(round(area[4] * 0.004))
                area[12] = 0
                area[12] = total - area.sum()
            assert area.min() >= 0 and area.sum() == total
            for (cc, cn), a in zip(LAND_CATEGORIES, area):
                rows.append((code, name, year, cc, cn, a / 100))
    df = pd.DataFrame(rows, columns=["行政区代码", "行政区名称", "年度", "地类编码", "地类名称", "面积（公顷）"])
    return df, c2018


def _write_land_xlsx(path: Path, df: pd.DataFrame) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    wb = Workbook()
    ws = wb.active
    ws.title = "土地利用现状"
    ws.append(["青山县土地利用现状统计表（单位：公顷）"])
    ws.append(["填报单位：青山县自然资源局　　数据来源：年度国土变更调查　　分类标准：GB/T 21010-2017 一级类"])
    ws.append(list(df.columns))
    ws.merge_cells("A1:F1")
    ws.merge_cells("A2:F2")
    ws["A1"].font = Font(bold=True, size=14)
    ws["A1"].alignment = Alignment(horizontal="center")
    for c in ws[3]:
        c.font = Font(bold=True)
    for row in df.itertuples(index=False):
        ws.append([row[0], row[1], int(row[2]), row[3], row[4], float(row[5])])
    for r in range(4, 4 + len(df)):
        ws.cell(r, 1).number_format = "@"
        ws.cell(r, 4).number_format = "@"
        ws.cell(r, 6).number_format = "0.00"
    for col, width in zip("ABCDEF", (14, 10, 8, 10, 26, 14)):
        ws.column_dimensions[col].width = width
    wb.properties.creator = "青山县自然资源局"
    wb.properties.created = FIXED_XLSX_TIME
    wb.properties.modified = FIXED_XLSX_TIME
    buf = io.BytesIO()
    wb.save(buf)
    _normalise_zip(buf.getvalue(), path)


def _normalise_zip(data: bytes, path: Path) -> None:
    """Rewrite an xlsx with fixed entry timestamps and fixed core-property dates (byte-identical output)."""
    stamp = FIXED_XLSX_TIME.strftime("%Y-%m-%dT%H:%M:%SZ")
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            content = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                text = content.decode("utf-8")
                text = re.sub(r"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:)", rf"\g<1>{stamp}\g<3>", text)
                content = text.encode("utf-8")
            zi = zipfile.ZipInfo(info.filename, date_time=FIXED_XLSX_TIME.timetuple()[:6])
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o600 << 16
            dst.writestr(zi, content)
    path.write_bytes(out.getvalue())


def _land_supply(rng: np.random.Generator) -> pd.DataFrame:
    n = 380
    first, last = np.datetime64("2018-01-01"), np.datetime64(END)
    span = int((last - first).astype(int))
    approved = np.sort(first + (span * rng.beta(1.15, 1.0, n)).astype(int).astype("timedelta64[D]"))
    purposes = ["工业用地", "商服用地", "住宅用地", "公共管理与公共服务用地", "交通运输用地"]
    purpose = rng.choice(5, n, p=[0.38, 0.12, 0.22, 0.15, 0.13])
    tw = np.array([0.22, 0.16, 0.08, 0.04, 0.08, 0.04, 0.09, 0.04, 0.08, 0.04, 0.09, 0.04])
    town = rng.choice(len(TOWNSHIPS), n, p=tw / tw.sum())
    u = rng.random(n)
    method = np.where(purpose >= 3, "划拨",
                      np.where(purpose == 0, np.where(u < 0.8, "招拍挂出让", "协议出让"),
                               np.where(u < 0.95, "招拍挂出让", "协议出让")))
    med_area = np.array([3.0, 1.2, 2.5, 1.5, 4.0])[purpose]
    area = np.round(_lognormal(rng, 1.0, 0.6, n) * med_area, 4)
    unit_price = np.array([95.0, 900.0, 1300.0, 0.0, 0.0])[purpose] * _lognormal(rng, 1.0, 0.3, n)
    price = np.where(method == "划拨", np.nan, np.round(area * unit_price, 2))
    supplied = approved + rng.integers(30, 541, n).astype("timedelta64[D]")
    unsupplied = (supplied > last) | (rng.random(n) < 0.08)
    supplied = np.where(unsupplied, np.datetime64("NaT"), supplied)
    agreed = supplied + rng.integers(180, 366, n).astype("timedelta64[D]")
    u = rng.random(n)
    actual = np.where(u < 0.80, agreed + rng.integers(-60, 121, n).astype("timedelta64[D]"),
                      np.where(u < 0.88, agreed + rng.integers(366, 601, n).astype("timedelta64[D]"),
                               np.datetime64("NaT")))
    actual = np.where(actual > last, np.datetime64("NaT"), actual)
    year = approved.astype("datetime64[Y]").astype(int) + 1970
    seq = pd.Series(np.arange(n)).groupby(year).cumcount().to_numpy() + 1
    sid = ("QSGD-" + pd.Series(year).astype(str) + "-" + pd.Series(seq).astype(str).str.zfill(4)).values
    return pd.DataFrame({
        "供地编号": sid,
        "行政区代码": np.array(TOWN_CODES, dtype=object)[town],
        "行政区名称": np.array(TOWN_NAMES, dtype=object)[town],
        "批准日期": _fmt_date(approved),
        "供地日期": _fmt_date(supplied),
        "土地用途": np.array(purposes, dtype=object)[purpose],
        "供地方式": method,
        "面积（公顷）": area,
        "成交价（万元）": price,
        "约定开工日期": _fmt_date(agreed),
        "实际开工日期": _fmt_date(actual),
    })


def _targets(land_use: pd.DataFrame, c2018: dict) -> pd.DataFrame:
    rows = []
    names = {"cultivated_land_ha": "耕地保有量（公顷）", "on_time_rate": "按期办结率", "online_rate": "网办率",
             "good_rating_rate": "好评率", "petition_reply_on_time_rate": "信访按期答复率",
             "median_throughput_workdays": "办理时长中位数（工作日）"}
    tot = {"2025": 0.0, "2030": 0.0}
    for code, name, *_ in TOWNSHIPS:
        shares = CULTIVATED_TARGET.get(name, CULTIVATED_TARGET_OTHER)
        for period, sh in zip(("2025", "2030"), shares):
            v = round(c2018[name] * sh, 2)
            tot[period] += v
            rows.append(("cultivated_land_ha", names["cultivated_land_ha"], code, period, v))
    for period in ("2025", "2030"):
        rows.append(("cultivated_land_ha", names["cultivated_land_ha"], COUNTY_CODE, period, round(tot[period], 2)))
    for ind, val in (("on_time_rate", 0.95), ("online_rate", 0.80), ("good_rating_rate", 0.95),
                     ("petition_reply_on_time_rate", 0.95), ("median_throughput_workdays", 5)):
        for period in ("2024", "2025", "2026"):
            rows.append((ind, names[ind], COUNTY_CODE, period, val))
    return pd.DataFrame(rows, columns=["指标", "指标名称", "行政区代码", "期间", "目标值"])


# ----------------------------------------------------------------------------------------------
# Entry points
# ----------------------------------------------------------------------------------------------
def generate(out_dir: Path, seed: int = 20240101, scale: float = 1.0, verbose: bool = False,
             parcel_scale: float = 1.0) -> dict:
    """Write the exports into `out_dir`; return {file name: number of records}. `parcel_scale` multiplies
    the number of land parcels (sample_data.geography).

    For approval_events.xes.gz the count is stage events (start/complete pairs = case_events rows).
    """
    if scale <= 0:
        raise ValueError("scale must be positive")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ss = np.random.SeedSequence(seed)
    r_cases, r_pet, r_land, r_sup = (np.random.default_rng(s) for s in ss.spawn(4))
    workdays = _working_days(START - dt.timedelta(days=31), dt.date(2028, 12, 31))

    cases, ev, case_id, ctype, diag = _cases_and_events(r_cases, scale, workdays)
    _write_csv(cases, out / "approval_cases.csv", "utf-8-sig", crlf=True)
    n_ev = _write_xes(out / "approval_events.xes.gz", ev, case_id, ctype, cases, workdays)

    pet, pdiag = _petitions(r_pet, scale)
    _write_csv(pet, out / "petitions.csv", "gb18030", crlf=True)

    land, c2018 = _land_use(r_land)
    _write_land_xlsx(out / "land_use.xlsx", land)
    supply = _land_supply(r_sup)
    _write_csv(supply, out / "land_supply.csv", "utf-8")
    targets = _targets(land, c2018)
    _write_csv(targets, out / "targets.csv", "utf-8")
    from sample_data.geography import write_geography
    r_geo = np.random.default_rng(ss.spawn(1)[0])     # a fifth stream: the first four (and their files) unchanged
    geo = write_geography(out, r_geo, land, TOWNSHIPS, (COUNTY_CODE, COUNTY_NAME), parcel_scale)

    if verbose:
        print({**diag, **pdiag}, file=sys.stderr)
    return {
        "approval_cases.csv": len(cases),
        "approval_events.xes.gz": n_ev,
        "petitions.csv": len(pet),
        "land_use.xlsx": len(land),
        "land_supply.csv": len(supply),
        "targets.csv": len(targets),
        **geo,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m sample_data.generator",
                                 description="Generate the sample county 青山县's source exports.")
    ap.add_argument("--seed", type=int, default=20240101)
    ap.add_argument("--scale", type=float, default=1.0, help="multiplies the number of cases and petitions")
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "exports")
    ap.add_argument("--parcel-scale", type=float, default=1.0, help="multiplies the number of land parcels")
    ap.add_argument("--verbose", action="store_true", help="print planted-fact diagnostics to stderr")
    args = ap.parse_args(argv)
    if args.scale <= 0 or args.parcel_scale <= 0:
        print("--scale and --parcel-scale must be positive numbers.", file=sys.stderr)
        return 2
    counts = generate(args.out, seed=args.seed, scale=args.scale, verbose=args.verbose, parcel_scale=args.parcel_scale)
    for name, cnt in counts.items():
        print(f"{name}\t{cnt}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
