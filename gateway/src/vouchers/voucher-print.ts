import {
  escapeHtml as escape,
  grouped,
  kwhAndMwh,
  money,
  shanghaiDate,
  shanghaiDateTime,
  styleHashSource,
} from '../common/html';
import type { VoucherDto } from './vouchers.dto';

export const VOUCHER_STATUS_ZH: Record<string, string> = {
  IN_CUSTODY: '托管中',
  RELEASED: '已交付',
  CLAIMED: '已核销（作为消纳依据）',
  REVOKED: '已撤销',
};

const STYLE = `
  body { font-family: "Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", sans-serif; margin: 2em auto; max-width: 52em; color: #111; }
  h1 { text-align: center; margin-bottom: 0; } h1 small { display: block; font-size: 0.5em; color: #444; }
  table { border-collapse: collapse; width: 100%; margin: 1em 0; }
  th, td { border: 1px solid #999; padding: 0.4em 0.6em; text-align: left; vertical-align: top; }
  th { background: #f1f5f1; width: 14em; } small { color: #555; font-weight: normal; }
  .mono { font-family: "DejaVu Sans Mono", monospace; word-break: break-all; } .num { text-align: right; }
  .status { font-weight: bold; }
  .verify { display: flex; gap: 1em; align-items: center; border-top: 1px solid #999; padding-top: 0.8em; font-size: 0.9em; }
  .verify svg { width: 9em; height: 9em; flex: none; }
  @media print { body { margin: 0; } }
`;

/** The CSP source of the page's one inline style: the print answer's own policy, and the regulator page's. */
export const VOUCHER_STYLE_SOURCE = styleHashSource(STYLE);
export const VOUCHER_PRINT_CSP =
  `default-src 'none'; style-src ${VOUCHER_STYLE_SOURCE}; img-src data:; base-uri 'none'; ` +
  `form-action 'none'; frame-ancestors 'self'`;

/** What the printed voucher shows besides the voucher itself. */
export interface VoucherPrintContext {
  /** Company names by participant id, from the projection of the participant registry. */
  names: ReadonlyMap<string, string>;
  /** Absolute URL of the public verification page (扫码验真). */
  verifyUrl: string;
  /** The QR code of `verifyUrl`, an inline SVG element. */
  qrSvg: string;
}

/** A voucher's serial ranges as a table, on the printed voucher and on its public verification page alike. */
export function serialRangesTable(
  ranges: ReadonlyArray<{ serialStart: string; serialEnd: string; certificates: number }>,
): string {
  const rows = ranges
    .map(
      (r) =>
        `<tr><td class="mono">${escape(r.serialStart)}</td><td class="mono">${escape(r.serialEnd)}</td>` +
        `<td class="num">${escape(grouped(r.certificates))}</td></tr>`,
    )
    .join('');
  return `<table id="serials">
<tr><th>起始序列号<br><small>First serial</small></th><th>结束序列号<br><small>Last serial</small></th><th>张数 (MWh)<br><small>Certificates</small></th></tr>
${rows}
</table>`;
}

/** "Company name (id)", or the id alone when the registry has no name for it. */
function party(id: string, names: ReadonlyMap<string, string>): string {
  const name = names.get(id);
  return name ? `${escape(name)} <small>(${escape(id)})</small>` : escape(id);
}

/**
 * A printable, self-contained HTML page of a voucher (绿电凭证), Chinese and English labels, no external
 * resources: company names, Shanghai times, amounts with separators, and a QR code of its public verification
 * page so that whoever holds the paper can check it against the ledger without an account.
 */
export function voucherHtml(voucher: VoucherDto, context: VoucherPrintContext): string {
  const row = (zh: string, en: string, value: string) =>
    `<tr><th>${zh}<br><small>${en}</small></th><td>${value}</td></tr>`;
  const status =
    `<span class="status">${escape(VOUCHER_STATUS_ZH[voucher.status] ?? voucher.status)} (${escape(voucher.status)})</span>` +
    (voucher.statusReason ? ` — ${escape(voucher.statusReason)}` : '');
  return `<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>绿电凭证 Green Electricity Voucher ${escape(voucher.id)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>绿电凭证<small>Green Electricity Consumption Voucher</small></h1>
<table>
${row('凭证编号', 'Voucher ID', `<span class="mono">${escape(voucher.id)}</span>`)}
${row('状态', 'Status', status)}
${row('用电企业（持有人）', 'Consumer (holder)', party(voucher.consumer, context.names))}
${row('售电方', 'Seller', party(voucher.seller, context.names))}
${row('绿电电量', 'Volume', escape(kwhAndMwh(voucher.volumeKwh)))}
${row('消纳期间', 'Period (Asia/Shanghai)', `${escape(shanghaiDate(voucher.periodStart))} — ${escape(shanghaiDate(voucher.periodEnd, true))}`)}
${row('交易编号', 'Trade', `<span class="mono">${escape(voucher.trade.tradeId)}</span> (${escape(voucher.trade.kind)})`)}
${row('交易价格', 'Price (as reported)', escape(money(voucher.priceFen, voucher.currency)))}
${row('交易数据哈希', 'Trade data hash (SHA-256)', `<span class="mono">${escape(voucher.trade.tradeDataHash ?? '—')}</span>`)}
${row('上链交易号', 'Transaction ID', `<span class="mono">${escape(voucher.ledger.txId)}</span>`)}
${row('区块高度', 'Block', escape(grouped(voucher.ledger.blockNumber)))}
${row('签发时间', 'Issued at (Asia/Shanghai)', `${escape(shanghaiDateTime(voucher.ledger.committedAt))} (UTC+8)`)}
</table>
<h2>来源绿证序列号 <small>Source certificate serial ranges</small></h2>
${serialRangesTable(voucher.sourceLots.map((l) => ({ ...l, certificates: l.volume })))}
<div class="verify">
${context.qrSvg}
<p>扫码验真：用手机扫描二维码，或访问下列地址，无需账号即可在联盟链上核验本凭证的状态、电量、期间与序列号。<br>
Scan the code or open the address below to check this voucher’s status, volume, period and serial ranges against
the consortium ledger, without an account.<br>
<span class="mono" id="verify-url">${escape(context.verifyUrl)}</span></p>
</div>
</body>
</html>
`;
}
