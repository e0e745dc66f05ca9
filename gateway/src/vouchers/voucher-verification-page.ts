import { escapeHtml as e, kwhAndMwh, shanghaiDate, shanghaiDateTime, styleHashSource } from '../common/html';
import { serialRangesTable, VOUCHER_STATUS_ZH } from './voucher-print';
import type {
  TransactionProof,
  VerificationCheck,
  VoucherVerification,
} from './voucher-verification.service';

const STYLE = `
  body { font-family: "Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", sans-serif; margin: 1.5em auto;
         max-width: 46em; padding: 0 1em; color: #111; }
  h1 { font-size: 1.4em; } h1 small { display: block; font-size: 0.7em; color: #555; font-weight: normal; }
  th small { font-size: 0.8em; color: #555; font-weight: normal; }
  .verdict { padding: 0.8em 1em; border-radius: 6px; font-size: 1.2em; font-weight: bold; }
  .pass { background: #e3f4e6; border: 2px solid #2e7d32; color: #1b5e20; }
  .fail { background: #fdecea; border: 2px solid #c62828; color: #8e0000; }
  .warn { background: #fff4e0; border: 2px solid #ef6c00; color: #8a3c00; }
  table { border-collapse: collapse; width: 100%; margin: 1em 0; }
  th, td { border: 1px solid #bbb; padding: 0.35em 0.5em; text-align: left; vertical-align: top; }
  th { background: #f3f6f3; width: 13em; }
  .mono { font-family: "DejaVu Sans Mono", monospace; word-break: break-all; } .num { text-align: right; }
  .ok { color: #1b5e20; font-weight: bold; } .bad { color: #8e0000; font-weight: bold; }
  p.note { font-size: 0.85em; color: #444; }
`;

/** The page's policy: its one inline style, nothing else at all (no script, no image, no request). */
export const VERIFICATION_PAGE_CSP =
  `default-src 'none'; style-src ${styleHashSource(STYLE)}; base-uri 'none'; form-action 'none'; ` +
  `frame-ancestors 'none'`;

const CHECK_NAMES: Record<VerificationCheck['id'], [string, string]> = {
  ledger: ['联盟链存有该凭证', 'The consortium ledger holds the voucher'],
  issued: ['签发交易有效', 'The issuing transaction is valid'],
  changed: ['最近变更交易有效', 'Its latest change is valid'],
  projection: ['登记系统副本与链上一致', 'The registry’s copy matches the ledger'],
  chain: ['区块链完整性', 'The blocks are intact'],
};

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${e(title)}</title>
<style>${STYLE}</style>
</head>
<body>
${body}
</body>
</html>
`;
}

const row = (zh: string, en: string, value: string) =>
  `<tr><th>${zh}<br><small>${en}</small></th><td>${value}</td></tr>`;

function proofRows(zh: string, en: string, tx: TransactionProof): string {
  return row(
    zh,
    en,
    `<span class="mono">${e(tx.txId)}</span><br>区块 Block ${e(tx.blockNumber ?? '—')} · ` +
      `${e(tx.validationCode ?? 'UNKNOWN')} · ${e(shanghaiDateTime(tx.committedAt))} (UTC+8)`,
  );
}

function verdict(v: VoucherVerification): string {
  if (!v.verified) {
    return `<p class="verdict fail" id="verdict">✘ 验证未通过 — Verification failed</p>`;
  }
  if (v.status === 'REVOKED') {
    return (
      `<p class="verdict warn" id="verdict">⚠ 凭证真实，但已撤销 — Genuine, but REVOKED: it is no longer ` +
      `evidence of green-electricity consumption</p>`
    );
  }
  return `<p class="verdict pass" id="verdict">✔ 验证通过 — Verified on the consortium ledger</p>`;
}

/** The public verification page (扫码验真) of a voucher: what the ledger says, with each check. */
export function verificationHtml(v: VoucherVerification): string {
  const checks = v.checks
    .map(
      (c) =>
        `<tr data-check="${c.id}"><th>${CHECK_NAMES[c.id][0]}<br><small>${CHECK_NAMES[c.id][1]}</small></th>` +
        `<td><span class="${c.passed ? 'ok' : 'bad'}">${c.passed ? '✔ 通过 PASS' : '✘ 未通过 FAIL'}</span> ` +
        `— ${e(c.detail)}</td></tr>`,
    )
    .join('');
  const changed = v.lastChange.txId !== v.issued.txId;
  return page(
    `绿电凭证验真 ${v.voucherId}`,
    `<h1>绿电凭证验真<small>Green electricity voucher verification</small></h1>
${verdict(v)}
<table id="voucher">
${row('凭证编号', 'Voucher ID', `<span class="mono">${e(v.voucherId)}</span>`)}
${row('状态', 'Status', `<span id="status">${e(VOUCHER_STATUS_ZH[v.status] ?? v.status)} (${e(v.status)})</span>`)}
${row('绿电电量', 'Volume', `<span id="volume">${e(kwhAndMwh(v.volumeKwh))}</span>`)}
${row('消纳期间', 'Period (Asia/Shanghai)', `<span id="period">${e(shanghaiDate(v.periodStart))} — ${e(shanghaiDate(v.periodEnd, true))}</span>`)}
${proofRows('签发交易', 'Issued by transaction', v.issued)}
${changed ? proofRows('最近变更', 'Last changed by transaction', v.lastChange) : ''}
</table>
<h2>来源绿证序列号 <small>Serial ranges</small></h2>
${serialRangesTable(v.serialRanges)}
<h2>核验项 <small>Checks</small></h2>
<table id="checks">
${checks}
</table>
<p class="note">核验时间 Checked at ${e(shanghaiDateTime(v.checkedAt))} (UTC+8)。本页只确认凭证的状态、电量、期间、序列号与链上证明，不显示持有人或交易信息。
This page confirms the voucher’s status, volume, period, serial ranges and ledger proof only; it shows nothing about its
holder or the trade.</p>`,
  );
}

/** The answer to a link that is not genuine, or a check that could not be made, for a person with a phone. */
export function verificationErrorHtml(status: number, detail: string): string {
  const notGenuine = status === 404 || status === 400;
  const title = notGenuine
    ? '✘ 未能验证：链上无此凭证 — Not verified: no such voucher on the ledger'
    : status === 429
      ? '请稍后再试 — Too many checks from this address; try again shortly'
      : '暂时无法验证 — The check cannot be made right now';
  return page(
    '绿电凭证验真',
    `<h1>绿电凭证验真<small>Green electricity voucher verification</small></h1>
<p class="verdict ${notGenuine ? 'fail' : 'warn'}" id="verdict">${title}</p>
<p>${e(detail)}</p>`,
  );
}
