// The console's words in Chinese (the default) and English. Only the chosen language is kept in
// localStorage; nothing else the console knows is ever stored in the browser.

import { CARE_STRINGS } from "./i18n-care.js";
import { DAILY_STRINGS } from "./i18n-daily.js";

const STRINGS = {
  zh: {
    "app.title": "隔离看护值班台",
    "login.token": "登录令牌",
    "login.placeholder": "粘贴 isogate user add 给出的令牌",
    "login.submit": "登录",
    "login.wrong": "令牌无效，请重试。",
    "login.slow": "尝试次数过多，请 {s} 秒后再试。",
    "login.expired": "会话已过期或已结束，请重新登录。",
    "login.out": "已退出。",
    "login.error": "无法连接网关：{e}",
    "lang.other": "English",
    logout: "退出",
    "nav.alerts": "告警",
    "nav.households": "住户",
    "nav.roster": "值班",
    "nav.tech": "设备",
    "nav.daily": "日报",
    "conn.live": "实时",
    "conn.connecting": "连接中…",
    "conn.reconnecting": "重连中…",
    "conn.offline": "已断开",
    "unacked.title": "未确认告警",
    "mute.on": "静音 60 秒",
    "mute.left": "静音中 {s}s",
    "sound.enable": "点击启用声音",
    "banner.critical": "紧急：{n} 条严重告警未处理",
    "alerts.title": "告警队列",
    "alerts.none": "当前没有未处理的告警。",
    "alerts.filter": "显示",
    "filter.all": "全部",
    "filter.urgent": "严重与高",
    "filter.unacked": "未确认",
    "filter.pinned": "严重告警始终显示",
    "alert.ack": "确认",
    "alert.resolve": "解除",
    "alert.note": "处置说明（必填）",
    "alert.noteRequired": "解除告警必须填写处置说明。",
    "alert.plan": "处置预案",
    "alert.history": "记录",
    "alert.ackedBy": "{who} 已确认 {at}",
    "alert.resolvedBy": "{who} 已解除 {at}",
    "alert.count": "发生 {n} 次",
    "alert.escalated": "已升级 {n} 级",
    "alert.recipients": "通知",
    "alert.pick": "选择一条告警查看详情与处置。",
    "alert.snapshot": "快照",
    "alert.household": "住户页",
    "alert.failed": "操作失败：{e}",
    "status.open": "未确认",
    "status.escalated": "已升级",
    "status.acknowledged": "已确认",
    "status.resolved": "已解除",
    "sev.critical": "严重",
    "sev.high": "高",
    "sev.warning": "警告",
    "sev.info": "提示",
    "type.door_breach": "非授权开门",
    "type.door_left_open": "门未关",
    "type.tamper": "设备被拆/遮挡",
    "type.fever": "发热",
    "type.missed_reading": "未测体温",
    "type.device_offline": "设备离线",
    "type.low_battery": "电量低",
    "type.motion_at_door": "门口有人",
    "type.symptom": "症状上报",
    "type.no_watcher_on_duty": "无人值班",
    "hh.title": "住户",
    "hh.none": "当前班次没有住户。",
    "hh.door": "门",
    "hh.doorOpen": "开",
    "hh.doorClosed": "关",
    "hh.temp": "体温",
    "hh.devices": "设备",
    "hh.alerts": "告警",
    "hh.residents": "居民",
    "hh.unknown": "—",
    "hh.online": "在线",
    "hh.offline": "离线",
    "hh.battery": "电量 {n}%",
    "hh.lastSeen": "最后上报",
    "hh.timeline": "时间线（48 小时）",
    "hh.chart": "体温曲线",
    "hh.noReadings": "暂无体温记录。",
    "hh.forbidden": "无权查看此住户。",
    "hh.missing": "没有这个住户。",
    "hh.back": "← 返回住户列表",
    "hh.isolation": "隔离期",
    "hh.officer": "民警",
    "hh.doctor": "医生",
    "kind.event": "事件",
    "kind.reading": "体温",
    "kind.alert": "告警",
    "kind.visit": "探视",
    "roster.title": "值班表",
    "roster.now": "当前值班",
    "roster.next": "下一班",
    "roster.gaps": "无人值守时段（24 小时内）",
    "roster.noGaps": "未来 24 小时全部有人值守。",
    "roster.all": "全部住户",
    "roster.until": "至 {t}",
    "roster.from": "{t} 起",
    "roster.nobody": "无",
    "handover.title": "交接班",
    "handover.none": "还没有交接记录。",
    "handover.at": "交接时间 {t}",
    "handover.from": "交班",
    "handover.to": "接班",
    "handover.open": "移交的未处理告警",
    "handover.noOpen": "没有未处理的告警。",
    "handover.accept": "接收交班",
    "handover.accepted": "{who} 已接班 {at}",
    "handover.pending": "尚无人接班",
    "handover.escalated": "超时未接班，已升级 {t}",
    "tech.unknown": "未绑定的设备",
    "tech.noUnknown": "没有未绑定的设备在上报。",
    "tech.bind": "绑定",
    "tech.household": "住户",
    "tech.slot": "设备位",
    "tech.bound": "已绑定 {addr} → {dev}",
    "tech.commission": "调试清单",
    "tech.pickHousehold": "选择住户",
    "tech.complete": "全部设备已上报，调试完成。",
    "tech.incomplete": "等待设备上报…",
    "tech.forbidden": "只有安装人员、主管和管理员可以查看。",
    "col.address": "地址",
    "col.protocol": "协议",
    "col.topic": "主题",
    "col.lastSeen": "最后上报",
    "col.count": "次数",
    "col.device": "设备",
    "col.check": "检查项",
    "col.done": "完成",
    "time.ago.s": "{n} 秒前",
    "time.ago.m": "{n} 分钟前",
    "time.ago.h": "{n} 小时前",
    "time.ago.d": "{n} 天前",
    "error.load": "加载失败：{e}",
    "role.admin": "管理员",
    "role.supervisor": "主管",
    "role.watcher": "值班员",
    "role.officer": "民警",
    "role.doctor": "医生",
    "role.technician": "安装人员",
    "dev.door": "门磁",
    "dev.thermometer": "体温计",
    "dev.camera": "摄像头",
    "act.raised": "触发",
    "act.repeated": "再次发生",
    "act.escalated": "升级",
    "act.acknowledged": "确认",
    "act.resolved": "解除",
    "act.step": "处置步骤",
    "act.accepted": "接班接收",
    "act.seen_by_camera": "摄像头看到",
  },
  en: {
    "app.title": "Isolation duty console",
    "login.token": "Login token",
    "login.placeholder": "Paste the token from isogate user add",
    "login.submit": "Log in",
    "login.wrong": "That token is not valid. Try again.",
    "login.slow": "Too many attempts; try again in {s} s.",
    "login.expired": "Your session expired or was ended. Please log in again.",
    "login.out": "Logged out.",
    "login.error": "Cannot reach the gateway: {e}",
    "lang.other": "中文",
    logout: "Log out",
    "nav.alerts": "Alerts",
    "nav.households": "Households",
    "nav.roster": "Roster",
    "nav.tech": "Devices",
    "nav.daily": "Daily",
    "conn.live": "Live",
    "conn.connecting": "Connecting…",
    "conn.reconnecting": "Reconnecting…",
    "conn.offline": "Offline",
    "unacked.title": "unacknowledged alerts",
    "mute.on": "Mute 60 s",
    "mute.left": "Muted {s}s",
    "sound.enable": "Click to enable sound",
    "banner.critical": "URGENT: {n} critical alert(s) open",
    "alerts.title": "Alert queue",
    "alerts.none": "No open alerts.",
    "alerts.filter": "Show",
    "filter.all": "All",
    "filter.urgent": "Critical and high",
    "filter.unacked": "Unacknowledged",
    "filter.pinned": "critical alerts always shown",
    "alert.ack": "Acknowledge",
    "alert.resolve": "Resolve",
    "alert.note": "What was done (required)",
    "alert.noteRequired": "A note is required to resolve an alert.",
    "alert.plan": "Response plan",
    "alert.history": "History",
    "alert.ackedBy": "acknowledged by {who} {at}",
    "alert.resolvedBy": "resolved by {who} {at}",
    "alert.count": "{n} times",
    "alert.escalated": "escalated {n}×",
    "alert.recipients": "Sent to",
    "alert.pick": "Pick an alert to see it and act on it.",
    "alert.snapshot": "Snapshot",
    "alert.household": "Household page",
    "alert.failed": "Failed: {e}",
    "status.open": "open",
    "status.escalated": "escalated",
    "status.acknowledged": "acknowledged",
    "status.resolved": "resolved",
    "sev.critical": "critical",
    "sev.high": "high",
    "sev.warning": "warning",
    "sev.info": "info",
    "type.door_breach": "Door breach",
    "type.door_left_open": "Door left open",
    "type.tamper": "Tamper",
    "type.fever": "Fever",
    "type.missed_reading": "Missed reading",
    "type.device_offline": "Device offline",
    "type.low_battery": "Low battery",
    "type.motion_at_door": "Motion at door",
    "type.symptom": "Symptom reported",
    "type.no_watcher_on_duty": "No watcher on duty",
    "hh.title": "Households",
    "hh.none": "No households in this shift.",
    "hh.door": "Door",
    "hh.doorOpen": "open",
    "hh.doorClosed": "closed",
    "hh.temp": "Temp.",
    "hh.devices": "Devices",
    "hh.alerts": "Alerts",
    "hh.residents": "Residents",
    "hh.unknown": "—",
    "hh.online": "online",
    "hh.offline": "offline",
    "hh.battery": "battery {n}%",
    "hh.lastSeen": "last seen",
    "hh.timeline": "Timeline (48 h)",
    "hh.chart": "Temperature",
    "hh.noReadings": "No readings yet.",
    "hh.forbidden": "You may not see this household.",
    "hh.missing": "No such household.",
    "hh.back": "← back to households",
    "hh.isolation": "Isolation",
    "hh.officer": "Officer",
    "hh.doctor": "Doctor",
    "kind.event": "event",
    "kind.reading": "reading",
    "kind.alert": "alert",
    "kind.visit": "visit",
    "roster.title": "Roster",
    "roster.now": "On duty now",
    "roster.next": "Next",
    "roster.gaps": "Coverage gaps (next 24 h)",
    "roster.noGaps": "Every household is covered for the next 24 h.",
    "roster.all": "all households",
    "roster.until": "until {t}",
    "roster.from": "from {t}",
    "roster.nobody": "nobody",
    "handover.title": "Handover",
    "handover.none": "No handover yet.",
    "handover.at": "Handover at {t}",
    "handover.from": "From",
    "handover.to": "To",
    "handover.open": "Open alerts handed over",
    "handover.noOpen": "No open alerts.",
    "handover.accept": "Accept handover",
    "handover.accepted": "accepted by {who} {at}",
    "handover.pending": "not accepted yet",
    "handover.escalated": "nobody accepted; escalated {t}",
    "tech.unknown": "Unknown devices",
    "tech.noUnknown": "No unbound device is publishing.",
    "tech.bind": "Bind",
    "tech.household": "Household",
    "tech.slot": "Device slot",
    "tech.bound": "Bound {addr} → {dev}",
    "tech.commission": "Commissioning checklist",
    "tech.pickHousehold": "Pick a household",
    "tech.complete": "Every device has reported: commissioning complete.",
    "tech.incomplete": "Waiting for devices to report…",
    "tech.forbidden": "Technicians, supervisors and admins only.",
    "col.address": "Address",
    "col.protocol": "Protocol",
    "col.topic": "Topic",
    "col.lastSeen": "Last seen",
    "col.count": "Count",
    "col.device": "Device",
    "col.check": "Check",
    "col.done": "Done",
    "time.ago.s": "{n} s ago",
    "time.ago.m": "{n} min ago",
    "time.ago.h": "{n} h ago",
    "time.ago.d": "{n} d ago",
    "error.load": "Could not load: {e}",
    "role.admin": "admin",
    "role.supervisor": "supervisor",
    "role.watcher": "watcher",
    "role.officer": "officer",
    "role.doctor": "doctor",
    "role.technician": "technician",
    "dev.door": "door",
    "dev.thermometer": "thermometer",
    "dev.camera": "camera",
    "act.raised": "raised",
    "act.repeated": "repeated",
    "act.escalated": "escalated",
    "act.acknowledged": "acknowledged",
    "act.resolved": "resolved",
    "act.step": "plan step",
    "act.accepted": "handover accepted",
    "act.seen_by_camera": "seen by the camera",
  },
};

// The isolation's paperwork (tasks, visits, release) keeps its words in a module of its own.
for (const lang of ["zh", "en"]) Object.assign(STRINGS[lang], CARE_STRINGS[lang], DAILY_STRINGS[lang]);

const KEY = "isogate.lang";
let lang = localStorage.getItem(KEY) === "en" ? "en" : "zh";
const listeners = [];

/** `prefix.key` translated, or `key` itself when there is no such text (a value from data). */
export function tOr(prefix, key) {
  const text = t(`${prefix}.${key}`);
  return text === `${prefix}.${key}` ? key : text;
}

export function currentLang() {
  return lang;
}

/** The text for `key` in the current language, with `{name}` filled from `vars`. */
export function t(key, vars = {}) {
  const text = STRINGS[lang][key] ?? STRINGS.zh[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(vars[name] ?? ""));
}

/** Fill the static page's labels (data-i18n, data-i18n-placeholder) in the current language. */
export function translatePage(root = document) {
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  document.title = `${t("app.title")} · isogate`;
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-placeholder]")) {
    el.placeholder = t(el.dataset.i18nPlaceholder);
  }
  for (const el of root.querySelectorAll(".lang-switch")) el.textContent = t("lang.other");
}

export function setLang(next) {
  lang = next === "en" ? "en" : "zh";
  localStorage.setItem(KEY, lang);
  translatePage();
  for (const fn of listeners) fn(lang);
}

export function onLangChange(fn) {
  listeners.push(fn);
}

/** A time as the watcher reads it: HH:MM:SS today, else MM-DD HH:MM (the site's local time). */
export function clock(iso) {
  if (!iso) return t("hh.unknown");
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  const pad = (n) => String(n).padStart(2, "0");
  const hms = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  const today = new Date().toDateString() === d.toDateString();
  return today ? hms : `${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${hms.slice(0, 5)}`;
}

/** How long ago `iso` was, roughly. */
export function ago(iso) {
  if (!iso) return t("hh.unknown");
  const s = Math.max(0, Math.round((Date.now() - new Date(iso).getTime()) / 1000));
  if (s < 60) return t("time.ago.s", { n: s });
  if (s < 3600) return t("time.ago.m", { n: Math.floor(s / 60) });
  if (s < 86400) return t("time.ago.h", { n: Math.floor(s / 3600) });
  return t("time.ago.d", { n: Math.floor(s / 86400) });
}
