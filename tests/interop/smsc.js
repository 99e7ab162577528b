// An SMPP server built on node-smpp (not otagw code), driven by tests/smpp_interop.rs.
//
//   node smsc.js
//
// Listens on 127.0.0.1 (any port) and prints the port as its first stdout line. Accepts
// bind_transceiver/bind_transmitter with otagw/secret, answers every submit_sm with a fresh
// message_id, prints one JSON line per submit_sm, then sends a delivery receipt (deliver_sm,
// esm_class 0x04, receipted_message_id and message_state TLVs, the usual receipt text).
// Runs until killed.
'use strict';

const smpp = require('smpp');
const defs = require('smpp/lib/defs');

// Keep short_message as raw octets (see esme.js).
for (const cmd of ['submit_sm', 'deliver_sm']) {
  delete defs.commands[cmd].params.short_message.filter;
}

let nextId = 0x5a000;

const server = smpp.createServer((session) => {
  let bound = false;
  session.on('error', (e) => console.error(`smsc.js: session error: ${e.message}`));

  const onBind = (pdu) => {
    const ok = pdu.system_id === 'otagw' && pdu.password === 'secret';
    bound = ok;
    session.send(pdu.response({ command_status: ok ? 0 : 0x0e, system_id: 'node-smsc' }));
  };
  session.on('bind_transceiver', onBind);
  session.on('bind_transmitter', onBind);

  session.on('submit_sm', (pdu) => {
    if (!bound) {
      session.send(pdu.response({ command_status: 0x04 }));
      return;
    }
    const id = (nextId++).toString(16).toUpperCase();
    session.send(pdu.response({ message_id: id }));
    const sm = Buffer.from(pdu.short_message);
    console.log(JSON.stringify({
      message_id: id,
      service_type: pdu.service_type,
      destination_addr: pdu.destination_addr,
      esm_class: pdu.esm_class,
      data_coding: pdu.data_coding,
      registered_delivery: pdu.registered_delivery,
      short_message: sm.toString('hex'),
    }));
    if ((pdu.registered_delivery & 0x03) === 0) return;
    const text = `id:${id} sub:001 dlvrd:001 submit date:2611260000 done date:2611260000 ` +
      'stat:DELIVRD err:000 text:';
    setTimeout(() => {
      session.deliver_sm({
        source_addr: pdu.destination_addr,
        destination_addr: pdu.source_addr,
        esm_class: 0x04,
        short_message: Buffer.from(text, 'latin1'),
        receipted_message_id: id,
        message_state: 2,
      });
    }, 20);
  });

  session.on('enquire_link', (pdu) => session.send(pdu.response()));
  session.on('unbind', (pdu) => {
    session.send(pdu.response());
    session.close();
  });
});

server.on('error', (e) => {
  console.error(`smsc.js: ${e.message}`);
  process.exit(1);
});
server.listen(0, '127.0.0.1', () => {
  console.log(String(server.address().port));
});
