// An SMPP client built on node-smpp (not otagw code), driven by tests/smpp_interop.rs.
//
//   node esme.js <smsc port> <short_message as hex>
//
// Binds as a transceiver (otagw/secret) to 127.0.0.1:<port>, submits one WAP push segment,
// acknowledges the delivery receipt, prints one JSON line and unbinds. Exits non-zero on any
// failure or after 15 s.
'use strict';

const smpp = require('smpp');
const defs = require('smpp/lib/defs');

// node-smpp splits and text-decodes short_message when esm_class has UDHI set; this test wants
// the octets exactly as they are on the wire, so drop that filter for the PDUs used here.
for (const cmd of ['submit_sm', 'deliver_sm']) {
  delete defs.commands[cmd].params.short_message.filter;
}

const [port, hex] = process.argv.slice(2);
if (!port || hex === undefined) {
  console.error('usage: node esme.js <port> <hex short_message>');
  process.exit(2);
}

function fail(why) {
  console.error(`esme.js: ${why}`);
  process.exit(1);
}
setTimeout(() => fail('timed out'), 15000).unref();

const session = smpp.connect({ host: '127.0.0.1', port: Number(port) });
session.on('error', (e) => fail(`socket error: ${e.message}`));

let messageId = null;
let receipt = null;

function finish() {
  if (messageId === null || receipt === null) return;
  console.log(JSON.stringify({ message_id: messageId, ...receipt }));
  session.unbind(() => session.close(() => process.exit(0)));
}

session.on('deliver_sm', (pdu) => {
  session.send(pdu.response());
  if ((pdu.esm_class & 0x3c) !== 0x04) return; // not a delivery receipt
  const text = Buffer.from(pdu.short_message).toString('latin1');
  const field = (name) => {
    const m = new RegExp(`(?:^|\\s)${name}:(\\S*)`).exec(text);
    return m ? m[1] : null;
  };
  receipt = {
    receipt_id: pdu.receipted_message_id !== undefined ? pdu.receipted_message_id : field('id'),
    text_id: field('id'),
    message_state: pdu.message_state !== undefined ? pdu.message_state : null,
    stat: field('stat'),
  };
  finish();
});

session.on('connect', () => {
  session.bind_transceiver({ system_id: 'otagw', password: 'secret' }, (bound) => {
    if (bound.command_status !== 0) fail(`bind_transceiver refused: status ${bound.command_status}`);
    session.submit_sm(
      {
        service_type: 'WAP',
        destination_addr: '6195550101',
        esm_class: 0x40,
        data_coding: 4,
        registered_delivery: 1,
        short_message: Buffer.from(hex, 'hex'),
      },
      (resp) => {
        if (resp.command_status !== 0) fail(`submit_sm refused: status ${resp.command_status}`);
        messageId = resp.message_id;
        finish();
      },
    );
  });
});
