// The project's wire-level Elasticsearch double in a process of its own, so that
// its work does not share the event loop of whatever it is measured against.
// Prints its URL on stdout; exits on SIGTERM or when stdin closes.
import { startEsDouble } from '../../es-double/server.js';

const double = await startEsDouble();
process.stdout.write(`${double.url}\n`);
const stop = () => void double.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.stdin.on('end', stop);
process.stdin.resume();
