import { fork } from "node:child_process";
import http2 from "node:http2";
const child = fork("/tmp/h2srv.mjs");
const port: number = await new Promise((r) => child.once("message", r as never));
const session = http2.connect(`http://127.0.0.1:${port}`);
const call = () => new Promise<void>((resolve) => { const req = session.request({ ":method": "POST", ":path": "/x" }); req.on("data", () => {}); req.on("end", resolve); req.end(Buffer.alloc(20)); });
const xs: number[] = [];
for (let i = 0; i < 300; i++) await call();
for (let i = 0; i < 2000; i++) { const t = performance.now(); await call(); xs.push(performance.now() - t); }
xs.sort((a, b) => a - b);
console.log("raw http2 p50", xs[1000]?.toFixed(3), "p90", xs[1800]?.toFixed(3));
session.close(); child.kill();
