import { toString as qrSvg } from 'qrcode'
import { useEffect, useState } from 'react'

/**
 * A QR code for a URL, drawn as an SVG image (a data: URL, which the page's CSP allows for
 * images; nothing is fetched).
 */
export function QrCode({ text }: { text: string }) {
  const [src, setSrc] = useState<string | null>(null)
  useEffect(() => {
    let live = true
    qrSvg(text, { type: 'svg', margin: 1, errorCorrectionLevel: 'M' }).then(
      (svg) => live && setSrc(`data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`),
      () => live && setSrc(null),
    )
    return () => {
      live = false
    }
  }, [text])
  if (src === null) return null
  return <img className="qr" src={src} alt={`QR code for ${text}`} width={132} height={132} />
}
