// A client-rendered app: the session is an httpOnly cookie that only the API reads, and everything shown
// is live data from the API and the live channel. The server sends the shell (with its CSP nonce).
export const ssr = false;
export const prerender = false;
