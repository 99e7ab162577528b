// A non-durable ESME on node-smpp (not otagw code), the peer of benches/smpp_load.rs.
//
//   node load.js <smsc port> <messages> <window> <binds> <short_message as hex>
//
// Opens <binds> transceiver binds (otagw/secret) to 127.0.0.1:<port>, then submits <messages>
// WAP push segments spread over them, keeping at most <window> submit_sm unanswered per bind,
// and prints one JSON line: {"messages": n, "seconds": s, "rate": n/s}. Time runs from the
// first submit_sm to the last submit_sm_resp. Nothing is stored: this is the plain sender the
// durable outbox is measured against. Exits non-zero on any failure or after 120 s.
'use strict';

const smpp = require('smpp');
const defs = require('smpp/lib/defs');

for (const cmd of ['submit_sm', 'deliver_sm']) {
  delete defs.commands[cmd].params.short_message.filter;
}

const [port, messages, window, binds, hex] = process.argv.slice(2);
if (!port || hex === undefined) {
  console.error('usage: node load.js <port> <messages> <window> <binds> <hex short_message>');
  process.exit(2);
}
const total = Number(messages);
const perWindow = Number(window);
const nBinds = Number(binds);
const payload = Buffer.from(hex, 'hex');

function fail(why) {
  console.error(`load.js: ${why}`);
  process.exit(1);
}
setTimeout(() => fail('timed out'), 120000).unref();

let next = 0;
let answered = 0;
let started = null;

function bindOne() {
  return new Promise((resolve) => {
    const session = smpp.connect({ host: '127.0.0.1', port: Number(port) });
    session.on('error', (e) => fail(`socket error: ${e.message}`));
    session.on('deliver_sm', (pdu) => session.send(pdu.response()));
    session.on('connect', () => {
      session.bind_transceiver({ system_id: 'otagw', password: 'secret' }, (r) => {
        if (r.command_status !== 0) fail(`bind refused: status ${r.command_status}`);
        resolve(session);
      });
    });
  });
}

function pump(session, state) {
  while (state.inFlight < perWindow && next < total) {
    const i = next++;
    state.inFlight++;
    session.submit_sm(
      {
        service_type: 'WAP',
        destination_addr: `61955${String(i % 100000).padStart(5, '0')}`,
        esm_class: 0x40,
        data_coding: 4,
        registered_delivery: 1,
        short_message: payload,
      },
      (resp) => {
        if (resp.command_status !== 0) fail(`submit_sm refused: status ${resp.command_status}`);
        state.inFlight--;
        answered++;
        if (answered === total) {
          const seconds = Number(process.hrtime.bigint() - started) / 1e9;
          console.log(JSON.stringify({ messages: total, seconds, rate: total / seconds }));
          process.exit(0);
        }
        pump(session, state);
      },
    );
  }
}

(async () => {
  const sessions = [];
  for (let b = 0; b < nBinds; b++) sessions.push(await bindOne());
  started = process.hrtime.bigint();
  for (const s of sessions) pump(s, { inFlight: 0 });
})();
