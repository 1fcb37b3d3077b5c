// A scriptable SMSC for tests/providers/test_smpp.py, built on npm `smpp` (server mode).
//
// Listens on 127.0.0.1 (port 0), prints {"event":"listening","port":N} and then one JSON
// line per thing the ESME did. Reads one JSON command per line on stdin:
//   {"cmd":"set", ...}          change behaviour: throttle (answer the next N submit_sm with
//                               ESME_RTHROTTLED), reject_binds (refuse the next N binds),
//                               receipt ("DELIVRD"... sent after each resp, or null),
//                               receipt_first (send that receipt BEFORE the submit_sm_resp),
//                               throttle_after (let N submit_sm through before throttling),
//                               invalid_dest (list of destination_addr answered ESME_RINVDSTADR),
//                               delay_resp_ms (hold each submit_sm_resp; submit_sm events
//                               report how many submit_sm are outstanding without resp),
//                               ignore_enquire (leave the ESME's enquire_link unanswered)
//   {"cmd":"receipt","id":..,"stat":..,"err":..,"tlv":true}   send a delivery receipt
//   {"cmd":"state","id":..,"stat":..,"err":..}   change a message's state, sending nothing
//                               (its receipt is lost); query_sm answers from these states
//                               (ENROUTE after submit_sm, then each receipt's stat), and
//                               ESME_RQUERYFAIL for an id or source_addr it does not know
//   {"cmd":"mo","from":..,"to":..,"text":..,"data_coding":0,"udh":"hex"}   send an MO deliver_sm
//   {"cmd":"enquire_link"}      the SMSC asks the ESME whether it is alive
//   {"cmd":"unbind"}            the SMSC ends the bind politely
//   {"cmd":"drop"}              destroy every connection (no unbind)
//   {"cmd":"ping"}              answers {"event":"pong"} (a sync point)
"use strict";

const smpp = require("smpp");
const readline = require("readline");

const state = {
  throttle: 0,
  throttle_after: 0,
  delay_resp_ms: 0,
  ignore_enquire: false,
  reject_binds: 0,
  receipt: null,
  receipt_first: false,
  invalid_dest: [],
  next_id: 1,
};
const sessions = new Set();
const records = new Map(); // message_id -> {source_addr, stat, err}
const STATES = { ENROUTE: 1, DELIVRD: 2, EXPIRED: 3, DELETED: 4, UNDELIV: 5, ACCEPTD: 6, UNKNOWN: 7, REJECTD: 8 };
let outstanding = 0;

function record(id, stat, err) {
  const known = records.get(id);
  if (known) {
    known.stat = stat;
    known.err = Number(err || 0);
  }
}

function emit(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

function current() {
  for (const s of sessions) if (s.bound) return s;
  return null;
}

function receiptPdu(id, stat, err, withTlv, text) {
  const body =
    text !== undefined
      ? text
      : `id:${id} sub:001 dlvrd:${stat === "DELIVRD" ? "001" : "000"} ` +
        `submit date:2611281200 done date:2611281201 stat:${stat} err:${err || "000"} text:`;
  const options = {
    source_addr: "15550001111",
    destination_addr: "15550002222",
    esm_class: smpp.ESM_CLASS.MC_DELIVERY_RECEIPT,
    data_coding: 0,
    short_message: body,
  };
  if (withTlv) {
    options.receipted_message_id = id;
    options.message_state = STATES[stat];
  }
  record(id, stat, err);
  return options;
}

function sendDeliver(session, options, label) {
  session.deliver_sm(options, (resp) => {
    emit({ event: "deliver_sm_resp", label, command_status: resp.command_status });
  });
}

const server = smpp.createServer((session) => {
  sessions.add(session);
  session.on("close", () => {
    sessions.delete(session);
    emit({ event: "close" });
  });
  session.on("error", (e) => emit({ event: "error", message: String(e && e.message) }));

  session.on("bind_transceiver", (pdu) => {
    emit({
      event: "bind",
      system_id: pdu.system_id,
      password: pdu.password,
      system_type: pdu.system_type,
      interface_version: pdu.interface_version,
    });
    if (state.reject_binds > 0) {
      state.reject_binds -= 1;
      session.send(pdu.response({ command_status: smpp.ESME_RBINDFAIL }));
      return;
    }
    session.bound = true;
    session.send(pdu.response({ system_id: "frontdesk-smsc" }));
  });

  session.on("submit_sm", (pdu) => {
    const sm = pdu.short_message || {};
    outstanding += 1;
    const record = {
      event: "submit_sm",
      sequence_number: pdu.sequence_number,
      source_addr: pdu.source_addr,
      source_addr_ton: pdu.source_addr_ton,
      destination_addr: pdu.destination_addr,
      dest_addr_ton: pdu.dest_addr_ton,
      dest_addr_npi: pdu.dest_addr_npi,
      esm_class: pdu.esm_class,
      data_coding: pdu.data_coding,
      registered_delivery: pdu.registered_delivery,
      udh: (sm.udh || []).map((b) => b.toString("hex")),
      text: typeof sm.message === "string" ? sm.message : null,
      outstanding,
    };
    const respond = (options) => {
      const go = () => {
        outstanding -= 1;
        session.send(pdu.response(options));
      };
      if (state.delay_resp_ms) setTimeout(go, state.delay_resp_ms);
      else go();
    };
    if (state.throttle > 0 && state.throttle_after > 0) {
      state.throttle_after -= 1;
    } else if (state.throttle > 0) {
      state.throttle -= 1;
      emit({ ...record, command_status: smpp.ESME_RTHROTTLED, message_id: null });
      respond({ command_status: smpp.ESME_RTHROTTLED });
      return;
    }
    if (state.invalid_dest.includes(pdu.destination_addr)) {
      emit({ ...record, command_status: smpp.ESME_RINVDSTADR, message_id: null });
      respond({ command_status: smpp.ESME_RINVDSTADR });
      return;
    }
    const id = "smsc-" + String(state.next_id++).padStart(6, "0");
    records.set(id, { source_addr: pdu.source_addr, stat: "ENROUTE", err: 0 });
    emit({ ...record, command_status: 0, message_id: id });
    if (state.receipt && state.receipt_first) {
      sendDeliver(session, receiptPdu(id, state.receipt, "000", true), "receipt:" + id);
      emit({ event: "receipt_sent", id, before_resp: true });
    }
    respond({ message_id: id });
    if (state.receipt && !state.receipt_first) {
      sendDeliver(session, receiptPdu(id, state.receipt, "000", true), "receipt:" + id);
      emit({ event: "receipt_sent", id, before_resp: false });
    }
  });

  session.on("query_sm", (pdu) => {
    const known = records.get(pdu.message_id);
    const matches = known && known.source_addr === pdu.source_addr;
    emit({
      event: "query_sm",
      message_id: pdu.message_id,
      source_addr: pdu.source_addr,
      known: Boolean(matches),
    });
    if (!matches) {
      session.send(pdu.response({ command_status: smpp.ESME_RQUERYFAIL }));
      return;
    }
    session.send(
      pdu.response({
        message_id: pdu.message_id,
        message_state: STATES[known.stat],
        error_code: known.err,
      })
    );
  });

  session.on("enquire_link", (pdu) => {
    emit({ event: "enquire_link", ignored: state.ignore_enquire });
    if (!state.ignore_enquire) session.send(pdu.response());
  });
  session.on("unbind_resp", (pdu) => {
    emit({ event: "unbind_resp", command_status: pdu.command_status });
    session.close();
  });
  session.on("enquire_link_resp", (pdu) => {
    emit({ event: "enquire_link_resp", command_status: pdu.command_status });
  });
  session.on("unbind", (pdu) => {
    emit({ event: "unbind" });
    session.send(pdu.response());
    session.close();
  });
});

server.listen(0, "127.0.0.1", () => {
  emit({ event: "listening", port: server.address().port });
});

readline.createInterface({ input: process.stdin }).on("line", (line) => {
  if (!line.trim()) return;
  const cmd = JSON.parse(line);
  const session = current();
  switch (cmd.cmd) {
    case "set":
      for (const key of Object.keys(cmd)) if (key !== "cmd") state[key] = cmd[key];
      emit({ event: "set" });
      break;
    case "receipt":
      sendDeliver(session, receiptPdu(cmd.id, cmd.stat, cmd.err, cmd.tlv !== false, cmd.text), "receipt:" + cmd.id);
      emit({ event: "receipt_sent", id: cmd.id });
      break;
    case "state":
      record(cmd.id, cmd.stat, cmd.err);
      emit({ event: "state", id: cmd.id, stat: cmd.stat });
      break;
    case "mo": {
      const options = {
        source_addr: cmd.from,
        source_addr_ton: cmd.from_ton === undefined ? 1 : cmd.from_ton,
        source_addr_npi: 1,
        destination_addr: cmd.to,
        dest_addr_ton: 1,
        dest_addr_npi: 1,
        esm_class: 0,
        data_coding: cmd.data_coding || 0,
        short_message: cmd.udh ? { udh: Buffer.from(cmd.udh, "hex"), message: cmd.text } : cmd.text,
      };
      sendDeliver(session, options, "mo");
      break;
    }
    case "enquire_link":
      session.enquire_link();
      break;
    case "unbind":
      session.unbind();
      break;
    case "drop":
      for (const s of sessions) s.destroy();
      emit({ event: "dropped" });
      break;
    case "ping":
      emit({ event: "pong" });
      break;
    default:
      emit({ event: "error", message: "unknown command " + cmd.cmd });
  }
});
process.stdin.on("end", () => process.exit(0));
