// Node-RED settings for isogate's benchmark peer: `python -m bench.peer` starts Node-RED with
// these, on a free port of 127.0.0.1, with a copy of flow.json as the user dir's flows.json.
//   ISOGATE_PEER_HTTP_PORT  the editor's port (bound to 127.0.0.1 only)
//   ISOGATE_PEER_MQTT_PORT  the broker's port on 127.0.0.1 (used by flow.json)
//   ISOGATE_PEER_DB         the SQLite file of the stored variant (used by flow.json)
//   ISOGATE_PEER_SITE       the site as JSON: devices → households, isolation, visits, officers
//   ISOGATE_PEER_NODELAY    "0" to leave TCP_NODELAY off (MQTT.js's default)
"use strict";
const fs = require("fs");
const net = require("net");

// isogate's MQTT connection sets TCP_NODELAY, and so does the peer's: without it, Nagle's
// algorithm and delayed ACKs add up to ~40 ms to small MQTT packets. MQTT.js does not set it
// and Node-RED has no option for it, so every outgoing TCP connection gets it here.
if (process.env.ISOGATE_PEER_NODELAY !== "0") {
    const createConnection = net.createConnection;
    net.createConnection = function (...args) {
        return createConnection.apply(this, args).setNoDelay(true);
    };
}

module.exports = {
    uiHost: "127.0.0.1",
    uiPort: Number(process.env.ISOGATE_PEER_HTTP_PORT || 1880),
    flowFile: "flows.json",
    credentialSecret: false,
    functionGlobalContext: {
        site: JSON.parse(fs.readFileSync(process.env.ISOGATE_PEER_SITE, "utf8")),
    },
    logging: { console: { level: "info", metrics: false, audit: false } },
    diagnostics: { enabled: false, ui: false },
    telemetry: { enabled: false, updateNotification: false },
    editorTheme: { projects: { enabled: false }, tours: false },
    externalModules: {
        autoInstall: false,
        palette: { allowInstall: false },
        modules: { allowInstall: false },
    },
};
