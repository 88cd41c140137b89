/**
 * The control every Node relay is measured against: a TCP pipe with no
 * protocol at all, `socket.on('data', (d) => other.write(d))` both ways
 * with TCP_NODELAY, as a ten-line proxy is written. Whatever CPU Shiftgate
 * spends above this per transaction is its own work; below it, Node itself.
 *
 * Usage: node bench/lib/bare-pipe.mjs <listen port> <upstream host> <upstream port>
 */
import { connect, createServer } from 'node:net';

const [listenPort, upstreamHost, upstreamPort] = process.argv.slice(2);
const server = createServer((client) => {
  const upstream = connect(Number(upstreamPort), upstreamHost);
  client.setNoDelay(true);
  upstream.setNoDelay(true);
  client.on('data', (d) => upstream.write(d));
  upstream.on('data', (d) => client.write(d));
  client.on('close', () => upstream.destroy());
  upstream.on('close', () => client.destroy());
  client.on('error', () => upstream.destroy());
  upstream.on('error', () => client.destroy());
});
server.listen(Number(listenPort), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
