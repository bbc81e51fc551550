export { currencyExponent, currencySymbol, normalizeCurrency } from './currency.js';
export {
  type Money,
  type Rounding,
  type LedgerAmountOptions,
  type UserAmountOptions,
  MAX_MINOR_UNITS,
  MoneyError,
  money,
  decimalToMinor,
  ledgerAmountToMinor,
  parseUserAmount,
  minorToDecimal,
  formatMoney,
  convertMinor,
  ratio,
  scaleMinor,
  allocate,
} from './money.js';
